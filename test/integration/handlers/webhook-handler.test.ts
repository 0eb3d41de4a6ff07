// The webhook Lambda, invoked in-process with HTTP API v2 events, against 2 real HAProxy hosts (behind wiretaps that
// record every byte sent to their stats sockets) and DynamoDB Local; only SSM is faked, at the SDK boundary. The
// handler reads its environment once per file, so the hosts are shared; every test has a backend of its own and
// registers the members it needs itself: no test depends on another.
import { isIP } from 'node:net';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import type { SlotRecord } from '../../../functions/lib/domain/types.js';
import { createFleet } from '../../../functions/lib/haproxy/fleet.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import type { SlotSyncContext } from '../../../functions/shared/config-middleware.js';
import { signBody } from '../../../functions/webhook/signature.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, lambdaContext } from '../../support/lambda.js';
import { startWiretap, type Wiretap } from '../../support/wiretap.js';

const SECRET = 'test-webhook-secret';
const SECRET_PARAMETER = '/slot-sync/test/webhook-secret';
const ssm = mockClient(SSMClient);

const BACKENDS = 12;
/** The backend of test `t`. */
const be = (t: number) => `wh${t}`;

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let taps: Wiretap[];
let store: DynamoDbSlotStore;
let fleet: ReturnType<typeof createFleet>;
let port: number;
let handler: ((
  event: APIGatewayProxyEventV2,
  context: ReturnType<typeof lambdaContext>,
) => Promise<{ statusCode: number; body: string }>) & {
  before: (fn: (request: { context: unknown }) => void) => unknown;
};
/** Replaces the handler's ports for its next invocations (set by a test, cleared after it). */
let seam: ((context: SlotSyncContext) => void) | undefined;
const started: Instance[] = [];

/** Member `k` of test `t`, at an address of that test. */
const member = (t: number, k: number) => ({ id: `m-${k}`, address: `127.0.${40 + t}.${k}`, port });

/** Member `k` of test `t` as a running instance that answers with its id. */
async function serving(t: number, k: number) {
  const m = member(t, k);
  started.push(await startInstanceAt(m.id, m.address, port));
  return m;
}

function request(
  body: string,
  options: { t?: number; secret?: string; signature?: string | null; headers?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const t = options.t ?? Math.floor(Date.now() / 1000);
  const signature = options.signature === undefined ? signBody(options.secret ?? SECRET, body, t) : options.signature;
  return {
    version: '2.0',
    routeKey: 'POST /hooks/deploy',
    rawPath: '/hooks/deploy',
    rawQueryString: '',
    headers: {
      'Content-Type': 'application/json',
      ...(signature === null ? {} : { 'X-Slot-Sync-Signature': signature }),
      ...options.headers,
    },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/hooks/deploy' } } as APIGatewayProxyEventV2['requestContext'],
  } as APIGatewayProxyEventV2;
}

async function call(body: unknown, options?: Parameters<typeof request>[1]) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await handler(request(text, options), lambdaContext(25_000));
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

/** Every line a client sent to any host must be one our command builders can produce (DESIGN invariant 3). */
const NAME = '[A-Za-z0-9._:-]+';
const GRAMMAR = [
  /^prompt$/,
  /^quit$/,
  // Every observation asks which HAProxy answers (the version rides in the observation).
  /^show info$/,
  new RegExp(`^show stat ${NAME} 4 -1$`),
  new RegExp(`^show servers state ${NAME}$`),
  new RegExp(`^set server ${NAME}/${NAME} state (ready|drain|maint)$`),
  new RegExp(`^set server ${NAME}/${NAME} weight (\\d|[1-9]\\d|1\\d\\d|2[0-4]\\d|25[0-6])$`),
  new RegExp(`^set server ${NAME}/${NAME} addr (\\S+) port ([1-9]\\d{0,4})$`),
];
function assertOnlyBuiltCommands(lines: readonly string[]) {
  for (const line of lines) {
    const ok = GRAMMAR.some((g) => g.test(line));
    expect(ok, `unexpected text on a stats socket: ${JSON.stringify(line)}`).toBe(true);
    const addr = /addr (\S+) port (\d+)$/.exec(line);
    if (addr) {
      expect(isIP(addr[1] ?? '')).not.toBe(0);
      expect(Number(addr[2])).toBeLessThanOrEqual(65535);
    }
  }
}
const socketLines = () => taps.flatMap((t) => t.sent());

async function servedBy(t: number): Promise<Set<string>> {
  const bodies = new Set<string>();
  for (const h of hosts) for (let i = 0; i < 4; i++) bodies.add((await httpGet(h.frontendPort(be(t)))).body);
  return bodies;
}

const register = (t: number, k: number) => ({ action: 'register', backend: be(t), member: member(t, k) });

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`wh${Date.now()}`);
  port = await freePort();
  const backends = Array.from({ length: BACKENDS }, (_, i) => be(i + 1));
  hosts = await startFleet(2, { backends: backends.map((name) => ({ name, slotPrefix: `${name}s`, slots: 4 })) });
  taps = await Promise.all(hosts.map((h) => startWiretap(h.statsPort)));
  const config = {
    hosts: hosts.map((h, i) => ({ ...h.hostConfig(), port: taps[i]?.port ?? 0 })),
    backends: backends.map((name) => ({ name, slotPrefix: `${name}s`, port, drainSeconds: 5 })),
    timeouts: { connectMs: 500, commandMs: 2000 },
  };
  handlerEnv({
    dynamoPort: ddb.port,
    slotTable: tables.slotTable,
    idempotencyTable: tables.idempotencyTable,
    config,
    webhookSecretParameter: SECRET_PARAMETER,
  });
  ssm
    .on(GetParametersCommand)
    .resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: SECRET }], InvalidParameters: [] });
  store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
  fleet = createFleet({ hosts: hosts.map((h) => h.hostConfig()), timeouts: { connectMs: 1000, commandMs: 5000 } });
  handler = (await import('../../../functions/webhook/handler.js')).handler as unknown as typeof handler;
  // A middy `before` added after the handler's own: it sees (and may replace) the ports the config middleware built.
  handler.before((request) => seam?.(request.context as SlotSyncContext));
}, 60_000);

afterEach(async () => {
  seam = undefined;
  await Promise.all(started.splice(0).map((i) => i.close()));
});

afterAll(async () => {
  await Promise.all((taps ?? []).map((t) => t.close()));
  await stopAll(hosts);
  ssm.restore();
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('webhook handler POST /hooks/deploy', () => {
  it('registers a member on every host and answers 200 with per-host results', async () => {
    await serving(1, 1);
    const res = await call(register(1, 1));
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({
        action: 'register',
        member: 'm-1',
        status: 'applied',
        hosts: hosts.map((h) => ({ host: h.name, ok: true })),
      }),
    ]);
    expect(await servedBy(1)).toEqual(new Set(['m-1']));
  });

  it('answers a replayed request (same signature) from the idempotency record without touching a host', async () => {
    expect((await call(register(2, 1))).status).toBe(200);
    const body = JSON.stringify({ action: 'weight', backend: be(2), member: member(2, 1), weight: 7 });
    const event = request(body);
    const first = await handler(event, lambdaContext());
    expect(first.statusCode).toBe(200);
    const linesAfterFirst = socketLines().length;
    const replay = await handler(event, lambdaContext());
    expect(replay.statusCode).toBe(200);
    expect(JSON.parse(replay.body)).toEqual(JSON.parse(first.body));
    expect(socketLines()).toHaveLength(linesAfterFirst);
  });

  it('refuses an Idempotency-Key reused with a different body (422)', async () => {
    const headers = { 'Idempotency-Key': `deploy-${be(3)}` };
    expect((await call(register(3, 1), { headers })).status).toBe(200);
    const res = await call({ action: 'weight', backend: be(3), member: member(3, 1), weight: 9 }, { headers });
    expect(res.status).toBe(422);
  });

  it.each([
    ['missing', { signature: null }],
    ['made with another secret', { secret: 'not-the-secret' }],
    ['expired (6 minutes old)', { t: Math.floor(Date.now() / 1000) - 360 }],
    ['malformed', { signature: 't=abc,v1=zz' }],
  ])('answers 401 to a %s signature and changes nothing', async (_name, options) => {
    const before = await store.list(be(4));
    const lines = socketLines().length;
    const res = await call(register(4, 2), options);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('BAD_SIGNATURE');
    expect(await store.list(be(4))).toEqual(before);
    expect(socketLines()).toHaveLength(lines);
  });

  it('answers 400 with the schema issues for an invalid body, and 400 for an unknown backend', async () => {
    const bad = await call({ action: 'register', backend: be(5), member: { ...member(5, 2), port: 99999 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toEqual([expect.objectContaining({ path: ['member', 'port'] })]);
    const unknown = await call({ action: 'register', backend: 'nope', member: member(5, 2) });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.issues[0].message).toMatch(/no backend nope/);
  });

  it('answers 413 to a body over 256 KiB', async () => {
    expect((await call(`{"pad":"${'x'.repeat(300 * 1024)}"}`)).status).toBe(413);
  });

  it('answers 404 for a change to a member that has no slot', async () => {
    expect((await call(register(7, 1))).status).toBe(200);
    expect((await call({ action: 'drain', backend: be(7), member: member(7, 3) })).status).toBe(404);
  });

  it('drains and readies a member as an operator hold that reconcile leaves alone', async () => {
    const m = await serving(8, 1);
    expect((await call(register(8, 1))).status).toBe(200);
    const slot = (await store.findByMember(be(8), m.id))?.slot;
    expect((await call({ action: 'drain', backend: be(8), member: m })).status).toBe(200);
    expect((await store.findByMember(be(8), m.id))?.state).toBe('held');
    const observed = await fleet.observe([be(8)]);
    expect(observed.map((o) => (o.ok ? o.backends.get(be(8))?.find((s) => s.server === slot)?.admin : 'down'))).toEqual(
      ['drain', 'drain'],
    );
    expect((await call({ action: 'ready', backend: be(8), member: m })).status).toBe(200);
    expect((await store.findByMember(be(8), m.id))?.state).toBe('active');
    expect(await servedBy(8)).toEqual(new Set(['m-1']));
  });

  it('converges a desired member set: listed members registered, the others deregistered', async () => {
    await Promise.all([1, 2, 3].map((k) => serving(9, k)));
    expect((await call(register(9, 1))).status).toBe(200);
    const res = await call({ backend: be(9), members: [member(9, 2), member(9, 3)] });
    expect(res.status).toBe(200);
    const byMember = Object.fromEntries(
      res.body.results.map((r: { member: string; status: string }) => [r.member, r.status]),
    );
    expect(byMember).toEqual({ 'm-1': 'released', 'm-2': 'applied', 'm-3': 'applied' });
    expect(await servedBy(9)).toEqual(new Set(['m-2', 'm-3']));
  });

  it('answers 409 when the new members do not all fit, before writing anything', async () => {
    expect((await call({ backend: be(10), members: [member(10, 2), member(10, 3)] })).status).toBe(200);
    const before = await store.list(be(10));
    const res = await call({ backend: be(10), members: [2, 3, 4, 5, 6, 7].map((k) => member(10, k)) });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('NO_FREE_SLOT');
    expect(await store.list(be(10))).toEqual(before);
  });

  it('never answers 5xx and never puts unvalidated text on a socket, whatever the body and headers (fuzz)', async () => {
    const linesBefore = socketLines().length;
    const loopback = fc.constantFrom('127.0.0.31', '127.0.0.32', '::1');
    const hostile = fc.constantFrom(
      '127.0.0.1;show info',
      `127.0.0.1\nset server ${be(11)}/${be(11)}s1 state ready`,
      ' 127.0.0.1',
      '１２７.0.0.1',
      'fe80::1%lo',
      'localhost',
      '127.0.0.1:80',
    );
    const name = fc.oneof(
      fc.constantFrom(be(11), 'm-7', `${be(11)}/${be(11)}s1`, 'web;quit', 'w\neb', ''),
      fc.string({ maxLength: 12 }),
    );
    const memberArb = fc.record({
      id: name,
      address: fc.oneof(loopback, hostile, fc.string({ maxLength: 20 })),
      port: fc.oneof(fc.constant(port), fc.integer({ min: -5, max: 70_000 })),
    });
    const change = fc.record({
      action: fc.constantFrom('register', 'deregister', 'drain', 'ready', 'maint', 'weight', 'reboot'),
      backend: fc.oneof(fc.constant(be(11)), name),
      member: memberArb,
      weight: fc.option(fc.oneof(fc.integer({ min: -2, max: 300 }), fc.constant(1.5)), { nil: undefined }),
    });
    const body = fc.oneof(
      change,
      fc.record({ changes: fc.array(change, { maxLength: 3 }) }),
      fc.record({ backend: fc.constant(be(11)), members: fc.array(memberArb, { maxLength: 3 }) }),
      fc.jsonValue(),
      fc.string(),
    );
    const headers = fc.dictionary(
      fc.constantFrom('Idempotency-Key', 'X-Slot-Sync-Signature', 'x-forwarded-for', 'Content-Type'),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(body, headers, fc.boolean(), async (b, h, signIt) => {
        const text = typeof b === 'string' ? b : JSON.stringify(b);
        // A valid IP that is not loopback must never be programmed here: swap it for loopback before sending.
        const safe = text.replace(/\b(?!127\.)\d{1,3}(\.\d{1,3}){3}\b/g, '127.0.0.33');
        const event = request(safe, { headers: signIt ? withoutSignature(h) : h });
        const res = await handler(event, lambdaContext(10_000));
        expect([200, 400, 401, 404, 409, 413, 422]).toContain(res.statusCode);
      }),
      { numRuns: 150 },
    );
    assertOnlyBuiltCommands(socketLines().slice(linesBefore));
  });

  it('answers 502 and leaves the table unchanged when no host applied a new member', async () => {
    expect((await call(register(12, 1))).status).toBe(200);
    // This request's ports reach hosts that are gone: nothing listens where its fleet connects.
    const dead = await Promise.all(
      hosts.map(async (h) => ({ name: h.name, host: '127.0.0.1', port: await freePort() })),
    );
    seam = (context) => {
      context.deps = {
        ...context.deps,
        fleet: createFleet({ hosts: dead, timeouts: { connectMs: 300, commandMs: 1000 } }),
      };
    };
    const before = await store.list(be(12));
    const res = await call(register(12, 9), { headers: { 'Idempotency-Key': 'dead-hosts' } });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('QUORUM_NOT_MET');
    // The claim that ran beside the (failed) look at the hosts is rolled back: every slot holds what it held, and
    // m-9 owns nothing; only the version counters of the slot it briefly had moved on.
    const withoutVersion = (rs: readonly SlotRecord[]) => rs.map(({ version: _v, ...r }) => r);
    expect(withoutVersion(await store.list(be(12)))).toEqual(withoutVersion(before));
    expect(await store.findByMember(be(12), member(12, 9).id)).toBeUndefined();
  });
});

function withoutSignature(h: Record<string, string>): Record<string, string> {
  const { 'X-Slot-Sync-Signature': _drop, ...rest } = h;
  return rest;
}
