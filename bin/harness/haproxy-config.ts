// Generates haproxy.cfg text for harness processes (tests, local stack): loopback-only listeners, server-template slots, admin CLI sockets.

/** One backend of a test HAProxy: `slots` template servers named `${slotPrefix}1..n`, parked on 127.0.0.1:9. */
export interface BackendSpec {
  readonly name: string;
  readonly slotPrefix: string;
  readonly slots: number;
  /** Adds `option httpchk GET /` and `check` on the slots. */
  readonly check?: boolean;
  /** Check interval (default 200 ms so tests see checks pass or fail quickly). */
  readonly checkInterMs?: number;
  readonly mode?: 'http' | 'tcp';
  /** Template address (default `127.0.0.1:9`). Anything else must never resolve to a non-loopback address. */
  readonly placeholder?: string;
  /** Extra `server-template` keywords, e.g. `init-addr none`. */
  readonly serverOptions?: string;
}

/** What a test HAProxy should look like beyond the fixed loopback listeners. */
export interface HaproxyOptions {
  /** Host name in results and HostConfig (default `hap<n>`). */
  readonly name?: string;
  readonly backends: readonly BackendSpec[];
  /** Start with `-W -S <dir>/master.sock` and `expose-fd listeners` on the CLI sockets (seamless reloads). */
  readonly masterWorker?: boolean;
  /** `server-state-file <dir>/haproxy.state` + `load-server-state-from-file global`. */
  readonly stateFile?: boolean;
  readonly extraGlobal?: readonly string[];
  readonly extraDefaults?: readonly string[];
  /** A `mode tcp` TLS listener (client certificate required) in front of the unix CLI socket (reference §8.2). */
  readonly tlsCli?: { readonly crtPath: string; readonly caPath: string };
  /**
   * Replaces the generated config with this text (e.g. a rendered host template). It must listen for the CLI on
   * `127.0.0.1:${layout.statsPort}` (readiness is checked there) and only on loopback.
   */
  readonly configText?: (layout: HaproxyLayout) => string;
}

/** Where one process's files and listeners are; fixed for its lifetime so `restart()` reuses them. */
export interface HaproxyLayout {
  readonly dir: string;
  readonly configPath: string;
  readonly statsPort: number;
  readonly socketPath: string;
  readonly masterSocketPath: string;
  readonly pidFile: string;
  readonly stateFilePath: string;
  readonly frontendPorts: Readonly<Record<string, number>>;
  readonly tlsPort?: number;
}

/** Renders the configuration text for `options` at the ports and paths of `layout`. */
export function renderConfig(options: HaproxyOptions, layout: HaproxyLayout): string {
  const exposeFd = options.masterWorker ? ' expose-fd listeners' : '';
  const lines = [
    'global',
    `    stats socket ipv4@127.0.0.1:${layout.statsPort} level admin${exposeFd}`,
    `    stats socket ${layout.socketPath} mode 600 level admin${exposeFd}`,
    // The default of 10 gives 1 s SYN-retransmit stalls under concurrent one-shot connections (reference §6).
    '    stats maxconn 100',
    '    stats timeout 30s',
    `    pidfile ${layout.pidFile}`,
    // Without it a second HAProxy bound to the same port (another test process's freePort handed it out too) shares it
    // silently (SO_REUSEPORT) and answers some of our connections; with it, that bind fails and startHaproxy retries on
    // fresh ports. Master-worker hosts keep it: their reloads start the new worker while the old one still listens.
    ...(options.masterWorker ? [] : ['    noreuseport']),
    ...(options.stateFile ? [`    server-state-file ${layout.stateFilePath}`] : []),
    ...(options.extraGlobal ?? []).map((line) => `    ${line}`),
    '',
    'defaults',
    '    mode http',
    '    timeout connect 1s',
    '    timeout client 15s',
    '    timeout server 15s',
    ...(options.stateFile ? ['    load-server-state-from-file global'] : []),
    ...(options.extraDefaults ?? []).map((line) => `    ${line}`),
    '',
  ];
  for (const backend of options.backends) lines.push(...renderBackend(backend, layout), '');
  if (options.tlsCli && layout.tlsPort) {
    const { crtPath, caPath } = options.tlsCli;
    lines.push(
      'listen cli_tls',
      '    mode tcp',
      `    bind 127.0.0.1:${layout.tlsPort} ssl crt ${crtPath} ca-file ${caPath} verify required`,
      '    timeout client 30s',
      '    timeout server 30s',
      `    server cli unix@${layout.socketPath}`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderBackend(backend: BackendSpec, layout: HaproxyLayout): string[] {
  const port = layout.frontendPorts[backend.name];
  if (!port) throw new Error(`no frontend port for backend ${backend.name}`);
  const mode = backend.mode ? [`    mode ${backend.mode}`] : [];
  const check = backend.check ? ` check inter ${backend.checkInterMs ?? 200}` : '';
  const extra = backend.serverOptions ? ` ${backend.serverOptions}` : '';
  const placeholder = backend.placeholder ?? '127.0.0.1:9';
  return [
    `frontend fe_${backend.name}`,
    ...mode,
    `    bind 127.0.0.1:${port}`,
    `    default_backend ${backend.name}`,
    '',
    `backend ${backend.name}`,
    ...mode,
    '    balance roundrobin',
    ...(backend.check ? ['    option httpchk GET /'] : []),
    // Placeholder on loopback port 9 (discard): nothing answers, and no check ever leaves the machine.
    `    server-template ${backend.slotPrefix} 1-${backend.slots} ${placeholder}${check}${extra} disabled`,
  ];
}
