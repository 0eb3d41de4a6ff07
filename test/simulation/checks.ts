// Simulation checks: the invariants of the slot lifecycle, judged on the real table, the real hosts and the logs of the
// relays, the member servers and the faked Auto Scaling API (docs/ARCHITECTURE.md, "Invariants").
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ObservedSlot, SlotRecord } from '../../functions/lib/domain/types.js';
import { canonicalAddress } from '../../functions/lib/domain/values.js';
import { checkPassing } from '../../functions/lib/plan/health.js';
import { check, note, overlapped, type SeqState, touchedSinceLaunch } from './state.js';
import type { World } from './world.js';

const BACKENDS = ['web', 'app'] as const;
// A connection HAProxy chose a server for just before the drain arrived can reach it a moment later.
const IN_FLIGHT_MS = 150;

/** Every slot and member item of a backend, straight from the table. */
async function items(world: World, backend: string) {
  const out = await world.ddb.client.send(
    new QueryCommand({
      TableName: world.slotTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': backend },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

/** No member in two slots of a backend, no slot with two members, member items and slots agree both ways. */
export async function checkTable(world: World, state: SeqState): Promise<void> {
  for (const backend of BACKENDS) {
    const all = await items(world, backend);
    const slots = all.filter((i) => String(i.sk).startsWith('slot#'));
    const members = all.filter((i) => String(i.sk).startsWith('member#'));
    const owners = slots.filter((s) => s.member !== undefined).map((s) => String(s.member));
    check(
      state,
      new Set(owners).size === owners.length,
      () => `${backend}: a member holds two slots: ${owners.join(',')}`,
    );
    for (const m of members) {
      const id = String(m.sk).slice('member#'.length);
      const slot = slots.find((s) => s.slot === m.slot);
      check(
        state,
        slot?.member === id,
        () => `${backend}: member item ${id} → ${m.slot}, which ${slot?.member ?? 'nobody'} owns`,
      );
    }
    for (const s of slots.filter((x) => x.member !== undefined)) {
      const m = members.find((x) => x.sk === `member#${s.member}`);
      check(state, m?.slot === s.slot, () => `${backend}/${s.slot}: owned by ${s.member} without its member item`);
    }
  }
}

/** Re-addresses the hosts saw while the server still had sessions, and requests that reached a stopped instance. */
export function checkLogs(world: World, state: SeqState): void {
  for (const [i, relay] of world.relays.entries()) {
    for (const r of relay.readdresses()) {
      check(
        state,
        r.sessions === 0,
        () => `host ${i}: ${r.backend}/${r.server} re-addressed to ${r.address} with ${r.sessions} sessions`,
      );
    }
  }
  for (const [instance, at] of state.stoppedAt) {
    const address = world.addresses.get(instance)?.[0] ?? '';
    const late = (world.servers.get(address)?.arrivals() ?? []).filter((t) => t > at + IN_FLIGHT_MS);
    check(
      state,
      late.length === 0,
      () => `${instance} got ${late.length} new requests after it stopped serving at ${at}`,
    );
  }
}

/** One backend's rows per reachable host (undefined: the host did not answer). */
async function observe(world: World) {
  const observed = await world.fleet.observe([...BACKENDS]);
  return observed.map((o) => (o.ok ? o.backends : undefined));
}

function pointsAt(o: ObservedSlot | undefined, address: string | undefined, port: number | undefined): boolean {
  return (
    o?.address != null &&
    address !== undefined &&
    canonicalAddress(o.address) === canonicalAddress(address) &&
    o.port === port
  );
}

/**
 * How CompleteLifecycleAction may be called: once per token; CONTINUE for a launch only while every host that
 * answers serves the instance (READY, past the gate) in every backend, unless an operation on the instance (a hold,
 * a move, a notice, its terminate) started while the launch was under way (see SeqState.launching), or an operator
 * holds the slot since the launch began (a handed-over launch that reconcile completes: see touchedSinceLaunch);
 * CONTINUE for a terminate only once it holds no slot and no host points a live slot at it. From then on (and from
 * any ABANDON) it must get no new request.
 */
export async function judgeCompletion(
  world: World,
  state: SeqState,
  input: { token: string; instanceId: string; result: string },
): Promise<void> {
  const seen = [...(state.completions.get(input.token) ?? []), input.result];
  state.completions.set(input.token, seen);
  check(
    state,
    seen.length === 1,
    () => `token of ${input.instanceId} completed ${seen.length} times: ${seen.join(', ')}`,
  );
  const kind = state.tokens.get(input.token)?.kind;
  const address = world.addresses.get(input.instanceId)?.[0];
  const hosts = await observe(world);
  for (const backend of BACKENDS) {
    const record = await world.store.findByMember(backend, input.instanceId);
    for (const [h, rows] of hosts.entries()) {
      if (!rows) continue;
      const list = rows.get(backend) ?? [];
      if (kind === 'launch' && input.result === 'CONTINUE') {
        const o = list.find((x) => x.server === record?.slot);
        const serving =
          o !== undefined &&
          o.admin === 'ready' &&
          pointsAt(o, address, world.port) &&
          (backend !== 'web' || checkPassing(o));
        const heldAfter = record?.state === 'held' && touchedSinceLaunch(state, input.instanceId);
        check(state, serving || overlapped(state, input.instanceId) || heldAfter, () => {
          const all = hosts.map((r) => r?.get(backend)?.find((x) => x.server === record?.slot));
          const cells = all.map((x) => `${x?.admin} ${x?.status} ${x?.checkStatus}`).join(' | ');
          return `launch CONTINUE for ${input.instanceId} while host ${h} shows ${backend}/${record?.slot}: ${o?.admin} ${o?.status} (all: ${cells}; record ${JSON.stringify(record)})`;
        });
      } else if (input.result === 'CONTINUE') {
        const live = list.filter((x) => x.admin !== 'maint' && pointsAt(x, address, world.port));
        check(
          state,
          live.length === 0,
          () =>
            `terminate CONTINUE for ${input.instanceId} while host ${h} still has ${live.map((x) => `${backend}/${x.server} ${x.admin}`)}`,
        );
      }
    }
    if (kind === 'terminate' && input.result === 'CONTINUE')
      check(
        state,
        record === undefined,
        () => `terminate CONTINUE for ${input.instanceId} while it holds ${backend}/${record?.slot}`,
      );
  }
  note(state, `complete ${kind} ${input.instanceId} ${input.result}`);
  if (kind === 'terminate' || input.result === 'ABANDON') {
    const now = Date.now();
    state.stoppedAt.set(input.instanceId, Math.min(state.stoppedAt.get(input.instanceId) ?? now, now));
  }
}

/** Whether a slot on one host shows what its record asks for (after the quiet reconcile). */
function agrees(r: SlotRecord, o: ObservedSlot | undefined, gated: boolean): string | undefined {
  if (!o) return 'missing';
  const at = pointsAt(o, r.address, r.port);
  switch (r.state) {
    case 'free':
      return o.admin === 'maint' ? undefined : `free but ${o.admin}`;
    case 'active':
      if (!at || o.admin !== 'ready' || o.weight !== r.weight) return `${o.address}:${o.port} ${o.admin} w${o.weight}`;
      return gated && o.hasCheck && !checkPassing(o) ? `ready without a passing check (${o.status})` : undefined;
    case 'held':
      if (r.member !== undefined && !at) return `held at ${o.address}:${o.port}`;
      return o.admin === (r.heldAdmin ?? 'maint') ? undefined : `held ${r.heldAdmin} but ${o.admin}`;
    case 'draining':
      return o.admin === 'ready' ? 'draining but ready' : undefined;
  }
}

/** After the quiet reconcile: every host agrees with the table, and no host points a live slot at another's member. */
export async function checkAgreement(world: World, state: SeqState): Promise<void> {
  const hosts = await observe(world);
  for (const backend of BACKENDS) {
    const records = await world.store.list(backend);
    for (const [h, rows] of hosts.entries()) {
      check(state, rows !== undefined, () => `host ${h} does not answer after the quiet reconcile`);
      const list = rows?.get(backend) ?? [];
      for (const r of records) {
        const why = agrees(
          r,
          list.find((x) => x.server === r.slot),
          backend === 'web',
        );
        check(state, why === undefined, () => `host ${h} ${backend}/${r.slot} (${r.state} ${r.member ?? ''}): ${why}`);
      }
    }
  }
}

/** Every token delivered was completed exactly once; no retired instance holds a slot. */
export async function checkTokens(world: World, state: SeqState): Promise<void> {
  for (const token of state.delivered) {
    const seen = state.completions.get(token) ?? [];
    const what = state.tokens.get(token);
    check(state, seen.length === 1, () => `${what?.kind} of ${what?.instance} completed ${seen.length} times`);
  }
  for (const [instance] of state.stoppedAt) {
    for (const backend of BACKENDS) {
      const r = await world.store.findByMember(backend, instance);
      check(
        state,
        r === undefined || r.state === 'draining',
        () => `${instance} stopped serving but holds ${backend}/${r?.slot} (${r?.state})`,
      );
    }
  }
}
