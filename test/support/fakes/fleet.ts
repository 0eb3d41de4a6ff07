// Test fake of the HaproxyFleet port: hosts with server-template slots that apply the commands they are sent and report
// them back, with scripted sessions, health checks, outages, restarts and slow hosts — all on the fake clock.
import type { Command } from '../../../functions/lib/domain/commands.js';
import { onlyServers } from '../../../functions/lib/domain/observation.js';
import type { HostBatch, HostObservation, HostResult, ObservedSlot } from '../../../functions/lib/domain/types.js';
import type { AdminState } from '../../../functions/lib/domain/values.js';
import { CommandFailedError, StalePlanError } from '../../../functions/lib/errors.js';
import { classifyReply } from '../../../functions/lib/haproxy/classify.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import type { HaproxyFleet, ObserveOptions } from '../../../functions/lib/ports.js';
import type { FakeClock } from './clock.js';

/** One backend's `server-template` on every host. `check`: the servers have a health check. */
export interface FakeBackendSpec {
  readonly name: string;
  readonly slotPrefix: string;
  readonly slots: number;
  readonly check?: boolean;
}

export interface FakeFleetOptions {
  readonly clock: FakeClock;
  readonly backends: readonly FakeBackendSpec[];
  /** Host names (default `hap1`, `hap2`, `hap3`). */
  readonly hosts?: readonly string[];
  /** What `show info` says (default 2.6.12; 3.x hosts apply `set server addr` asynchronously). */
  readonly version?: string;
  /** How long a host that never answers keeps a caller waiting (the config's commandMs). */
  readonly commandMs?: number;
}

/** A health check's result for an address: its instance answers, refuses, or has not been checked yet. */
export type Health = 'passing' | 'failing' | 'pending';

interface Server {
  address: string | null;
  port: number | null;
  admin: AdminState;
  weight: number;
  checkStatus: string;
  readonly hasCheck: boolean;
  /** Open sessions, each ending at a time on the fake clock (Infinity: until closed). */
  sessions: number[];
}

interface Host {
  readonly name: string;
  version: string;
  mode: 'up' | 'down' | 'silent';
  latencyMs: number;
  servers: Map<string, Map<string, Server>>;
}

/** A batch that reached a host and was applied, rendered as the Runtime API text the real client would send. */
export interface SentBatch {
  readonly host: string;
  readonly at: number;
  readonly lines: readonly string[];
}

/** The fleet. Observations and batches are answered like `haproxy/fleet.ts` answers them, per host, never thrown. */
export class FakeFleet implements HaproxyFleet {
  readonly hosts: readonly string[];
  readonly sent: SentBatch[] = [];
  /** Things a real fleet must never see: a slot re-addressed with sessions, traffic to a slot not READY. */
  readonly violations: string[] = [];
  observeCalls = 0;
  /** Runs at the start of every `observe` (after the count): a test's script of what changes over time. */
  onObserve?: (call: number) => void | Promise<void>;
  private readonly byName = new Map<string, Host>();
  private readonly health = new Map<string, Health>();
  private readonly clock: FakeClock;
  private readonly commandMs: number;

  constructor(private readonly options: FakeFleetOptions) {
    this.clock = options.clock;
    this.commandMs = options.commandMs ?? 5_000;
    this.hosts = options.hosts ?? ['hap1', 'hap2', 'hap3'];
    for (const name of this.hosts)
      this.byName.set(name, {
        name,
        version: options.version ?? '2.6.12',
        mode: 'up',
        latencyMs: 0,
        servers: this.freshServers(),
      });
  }

  private freshServers(): Map<string, Map<string, Server>> {
    const out = new Map<string, Map<string, Server>>();
    for (const b of this.options.backends) {
      const servers = new Map<string, Server>();
      for (let i = 1; i <= b.slots; i++)
        servers.set(`${b.slotPrefix}${i}`, {
          address: null,
          port: null,
          admin: 'maint',
          weight: 1,
          checkStatus: '',
          hasCheck: b.check === true,
          sessions: [],
        });
      out.set(b.name, servers);
    }
    return out;
  }

  private host(name: string): Host {
    const h = this.byName.get(name);
    if (!h) throw new Error(`fake fleet has no host ${name}`);
    return h;
  }

  private server(host: string, backend: string, slot: string): Server {
    const s = this.host(host).servers.get(backend)?.get(slot);
    if (!s) throw new Error(`fake host ${host} has no server ${backend}/${slot}`);
    return s;
  }

  /** Time a call to these hosts takes: the slowest one (they are asked in parallel); a silent host the whole deadline. */
  private wait(hosts: readonly Host[]): void {
    const ms = Math.max(0, ...hosts.map((h) => (h.mode === 'silent' ? this.commandMs : h.latencyMs)));
    if (ms > 0) this.clock.advance(ms);
  }

  async observe(backends: readonly string[], options?: ObserveOptions): Promise<readonly HostObservation[]> {
    // Counted apart from the hook: `?.` would skip the increment along with the call when no hook is set.
    this.observeCalls++;
    await this.onObserve?.(this.observeCalls);
    const hosts = this.hosts
      .filter((n) => options?.hosts === undefined || options.hosts.has(n))
      .map((n) => this.host(n));
    this.wait(hosts);
    const filter = options?.servers;
    if (filter === undefined || filter instanceof Set) return hosts.map((h) => this.observeHost(h, backends, filter));
    // As the real fleet: the hosts answer now, the rows are chosen when the filter settles.
    const all = hosts.map((h) => this.observeHost(h, backends));
    const only = await filter;
    return only ? onlyServers(all, only) : all;
  }

  private observeHost(h: Host, backends: readonly string[], only?: ReadonlySet<string>): HostObservation {
    const down = this.outage(h);
    if (down) return { host: h.name, ok: false, error: down };
    const out = new Map<string, readonly ObservedSlot[]>();
    for (const backend of backends) {
      const servers = h.servers.get(backend);
      if (!servers) {
        const error = new CommandFailedError(h.name, `show stat ${backend} 4 -1`, "Can't find backend.");
        return { host: h.name, ok: false, error: { code: error.code, message: error.message } };
      }
      const rows: ObservedSlot[] = [];
      for (const [name, s] of servers) {
        this.check(s);
        if (!only || only.has(name)) rows.push(this.row(backend, name, s));
      }
      out.set(backend, rows);
    }
    return { host: h.name, ok: true, backends: out, version: h.version };
  }

  private outage(h: Host): { code: string; message: string } | undefined {
    if (h.mode === 'down') return { code: 'HOST_UNREACHABLE', message: `${h.name}: connect ECONNREFUSED` };
    if (h.mode === 'silent')
      return { code: 'HOST_TIMEOUT', message: `${h.name}: no answer within ${this.commandMs} ms` };
    return undefined;
  }

  /** A check runs between two looks: on a server out of MAINT at an address, with that address's health. */
  private check(s: Server): void {
    if (!s.hasCheck) return;
    if (s.admin === 'maint' || s.address === null) {
      s.checkStatus = '';
      return;
    }
    const health = this.health.get(s.address) ?? 'passing';
    s.checkStatus = health === 'passing' ? 'L7OK' : health === 'failing' ? 'L4CON' : '';
  }

  private row(backend: string, server: string, s: Server): ObservedSlot {
    const failing = s.checkStatus === 'L4CON';
    const status =
      s.admin === 'maint'
        ? 'MAINT'
        : !s.hasCheck
          ? s.admin === 'drain'
            ? 'DRAIN'
            : 'no check'
          : failing
            ? 'DOWN'
            : s.admin === 'drain'
              ? 'DRAIN'
              : 'UP';
    return {
      backend,
      server,
      address: s.address,
      port: s.port,
      admin: s.admin,
      weight: s.weight,
      sessions: this.sessionsOf(s),
      status,
      statusWord: status.split(' ')[0] ?? '',
      checkStatus: s.checkStatus,
      hasCheck: s.hasCheck,
    };
  }

  private sessionsOf(s: Server): number {
    const now = this.clock.now();
    s.sessions = s.sessions.filter((until) => until > now);
    return s.sessions.length;
  }

  async run(batches: readonly HostBatch[]): Promise<readonly HostResult[]> {
    // In parallel, each host on its own connection: a batch reaches its host after that host's latency, and the call
    // returns after the slowest one.
    const start = this.clock.now();
    const results = batches.map((b) => this.runOne(b, start));
    this.wait(batches.filter((b) => b.commands.length > 0 && this.byName.has(b.host)).map((b) => this.host(b.host)));
    return results;
  }

  async broadcast(commands: readonly Command[]): Promise<readonly HostResult[]> {
    return this.run(this.hosts.map((host) => ({ host, commands })));
  }

  private runOne(batch: HostBatch, start: number): HostResult {
    const h = this.byName.get(batch.host);
    if (!h) return { host: batch.host, ok: false, replies: [], error: { code: 'CONFIG_ERROR', message: 'unknown' } };
    if (batch.commands.length === 0) return { host: h.name, ok: true, replies: [] };
    const down = this.outage(h);
    if (down) return { host: h.name, ok: false, replies: [], error: down };
    const at = start + h.latencyMs;
    const late = batch.notAfter === undefined ? 0 : at - batch.notAfter;
    if (late > 0) {
      const error = new StalePlanError(h.name, late);
      return { host: h.name, ok: false, replies: [], error: { code: error.code, message: error.message } };
    }
    const replies = batch.commands.map((c) => classifyReply(c, this.apply(h, c)));
    this.sent.push({ host: h.name, at, lines: batch.commands.map(renderCommand) });
    const failed = replies.find((r) => !r.ok);
    if (!failed) return { host: h.name, ok: true, replies };
    const error = new CommandFailedError(h.name, failed.command, failed.reply);
    return { host: h.name, ok: false, replies, error: { code: error.code, message: error.message } };
  }

  /** Applies one command like HAProxy does and answers its reply text. */
  private apply(h: Host, c: Command): string {
    if (c.kind !== 'set-addr' && c.kind !== 'set-state' && c.kind !== 'set-weight' && c.kind !== 'enable-health')
      throw new Error(`the fake fleet answers reads through observe() and does not model ${c.kind} (growth)`);
    const s = h.servers.get(c.backend)?.get(c.server);
    if (!s) return 'No such server.';
    switch (c.kind) {
      case 'set-addr': {
        if (this.sessionsOf(s) > 0)
          this.violations.push(`${h.name}: ${c.backend}/${c.server} re-addressed with ${s.sessions.length} sessions`);
        const reply =
          s.address === c.address && s.port === c.port
            ? "no need to change the addr, no need to change the port by 'stats socket command'"
            : `IP changed from '${s.address ?? '(none)'}' to '${c.address}', port changed from '${s.port ?? 0}' to '${c.port}' by 'stats socket command'`;
        s.address = c.address;
        s.port = c.port;
        s.checkStatus = '';
        return reply;
      }
      case 'set-state':
        if (s.admin !== c.state && (s.admin === 'maint' || c.state === 'maint')) s.checkStatus = '';
        s.admin = c.state;
        return '';
      case 'set-weight':
        s.weight = c.weight;
        return '';
      case 'enable-health':
        return '';
    }
  }

  // ---- the script: what a test makes happen on the hosts ----

  /** The host refuses connections (`down`), accepts and never answers (`silent`), or works again (`up`). */
  setMode(host: string, mode: Host['mode']): void {
    this.host(host).mode = mode;
  }

  /** Every call to the host takes this long on the fake clock. */
  setLatency(host: string, ms: number): void {
    this.host(host).latencyMs = ms;
  }

  setVersion(host: string, version: string): void {
    this.host(host).version = version;
  }

  /** The host restarts without a state file: every slot is back in MAINT with no address and weight 1. */
  restart(host: string): void {
    this.host(host).servers = this.freshServers();
  }

  /** The host's config lacks this slot (a half-rolled-out template): it reports no such server. */
  dropServer(host: string, backend: string, slot: string): void {
    this.host(host).servers.get(backend)?.delete(slot);
  }

  /** What the health check of `address` answers from now on (default passing). */
  setHealth(address: string, health: Health): void {
    this.health.set(address, health);
  }

  /**
   * A client opens a session through the slot on the host, lasting `ms` on the fake clock. Traffic only reaches a
   * READY server with an address: anything else is recorded as a violation (the caller expected traffic there).
   */
  openSession(host: string, backend: string, slot: string, ms = Number.POSITIVE_INFINITY): void {
    const s = this.server(host, backend, slot);
    if (s.admin !== 'ready' || s.address === null)
      this.violations.push(`${host}: a session was opened on ${backend}/${slot} in ${s.admin}`);
    s.sessions.push(this.clock.now() + ms);
  }

  closeSessions(host: string, backend: string, slot: string): void {
    this.server(host, backend, slot).sessions = [];
  }

  /** What one host reports for one slot right now (no check runs). */
  slot(host: string, backend: string, slot: string): Omit<ObservedSlot, 'backend' | 'server'> {
    const { backend: _b, server: _s, ...row } = this.row(backend, slot, this.server(host, backend, slot));
    return row;
  }

  /** Where a new request to the backend could go on the host: READY servers with an address and no failing check. */
  serving(host: string, backend: string): string[] {
    const servers = this.host(host).servers.get(backend) ?? new Map<string, Server>();
    return [...servers]
      .filter(([, s]) => s.admin === 'ready' && s.address !== null && (!s.hasCheck || s.checkStatus === 'L7OK'))
      .map(([name]) => name);
  }

  /** Every line sent to `host` (all hosts when omitted), in order. */
  lines(host?: string): string[] {
    return this.sent.filter((b) => host === undefined || b.host === host).flatMap((b) => b.lines);
  }
}
