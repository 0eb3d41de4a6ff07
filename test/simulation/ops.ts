// Simulation operations: what a step can do to the world (lifecycle events, webhook calls, the CLI, reconcile, hosts
// going down and up), each through the real handlers, with faults when the step asks for them.
import { main } from '../../bin/cli/main.js';
import type { SlotRecord } from '../../functions/lib/domain/types.js';
import stateFixture from '../fixtures/events/instance-state-change.json' with { type: 'json' };
import launchFixture from '../fixtures/events/launch.json' with { type: 'json' };
import rebalanceFixture from '../fixtures/events/rebalance-recommendation.json' with { type: 'json' };
import spotFixture from '../fixtures/events/spot-interruption.json' with { type: 'json' };
import terminateFixture from '../fixtures/events/terminate.json' with { type: 'json' };
import { instanceEvent, lambdaContext, lifecycleEvent, sqsBatch } from '../support/lambda.js';
import { webhookEvent } from '../support/webhook-request.js';
import { check, flapSince, note, type SeqState, touch } from './state.js';
import { ASG, type Faults, INSTANCES, type Invoke, MEMBERS, SECRET, type World, withFaults } from './world.js';

/** Faults a step may carry: `kill` cuts its invocation off at a random point, `throttle` slows its table. */
export interface StepFaults {
  readonly kill?: number;
  readonly throttle?: boolean;
}

/** What happened to one invocation. */
export type Outcome = { readonly kind: 'done'; readonly value: unknown } | { readonly kind: 'died' };

/** Invokes a handler; a step with `kill` gets a Lambda deadline that cuts it off (its ports stop answering then). */
async function invoke(world: World, handler: Invoke, event: unknown, faults: StepFaults = {}): Promise<Outcome> {
  // A cut-off invocation is one whose Lambda deadline came: its context says so, and its ports stop at that moment.
  const remainingMs = faults.kill === undefined ? 10_000 : 50 + faults.kill;
  const deadline = Date.now() + remainingMs;
  const container = world.containers.lease();
  const simulated: Faults = {
    throttle: faults.throttle,
    fleet: container.fleet,
    ...(faults.kill === undefined ? {} : { killAt: deadline }),
  };
  const context = withFaults(lambdaContext(remainingMs), simulated);
  try {
    const value = await handler(event, context);
    const status = (value as { statusCode?: number }).statusCode;
    if (faults.kill !== undefined && (status === 500 || Date.now() >= (simulated.killAt ?? Infinity)))
      return { kind: 'died' };
    // A webhook that ran out of time says the change may be recorded in part (504 DEADLINE_EXCEEDED): the sender
    // knows as little as after a Lambda timeout, so it is judged as one; the invariants still hold it to the end state.
    if (status === 504) {
      world.deadlines.count++;
      return { kind: 'died' };
    }
    return { kind: 'done', value };
  } catch {
    return { kind: 'died' };
  } finally {
    // Calls the cut-off invocation still had under way finish (or not) before the next step: a frozen sandbox.
    while (world.inflight.count > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // An answer at the deadline is middy's timeout: the work may go on, so that container is not lent again.
    container.release(Date.now() < deadline);
  }
}

/** Delivers (or redelivers: same token) the instance's launch or terminate event. */
export async function deliver(
  world: World,
  state: SeqState,
  kind: 'launch' | 'terminate',
  instance: string,
  faults?: StepFaults,
): Promise<void> {
  const d = dispatched(state, kind, instance);
  const out = await invoke(world, world.handlers.lifecycle, d.event, faults).finally(d.returned);
  note(state, `${kind} ${instance} ${JSON.stringify(faults ?? {})} → ${JSON.stringify(out).slice(0, 900)}`);
  if (out.kind === 'died') return settled(state, d, 'died');
  const ignored = 'ignored' in (out.value as object);
  settled(state, d, ignored ? 'ignored' : 'done', !ignored && drainedEverywhere(out.value));
}

/**
 * Whether a terminate's answer says every host took the drain of every slot (`applied` = `hosts`). A duplicate
 * delivery answers from the idempotency record of the first one: when that one left a host undrained (a host that cut
 * its batch), the duplicate's return is no news about the hosts, and the instance is held from its completion on.
 */
function drainedEverywhere(value: unknown): boolean {
  const slots = (value as { slots?: readonly { applied?: number; hosts?: number }[] }).slots ?? [];
  return slots.every((x) => x.applied !== undefined && x.applied === x.hosts);
}

/**
 * Delivers several lifecycle events as one SQS batch (one invocation, its launches registered together). A record the
 * batch reports failed, or every record of a batch that died, is delivered again later, as SQS would.
 */
export async function deliverBatch(
  world: World,
  state: SeqState,
  items: readonly { readonly kind: 'launch' | 'terminate'; readonly instance: string }[],
  faults?: StepFaults,
): Promise<void> {
  const ds = items.map((it) => dispatched(state, it.kind, it.instance));
  const batch = sqsBatch(ds.map((d) => d.event));
  const out = await invoke(world, world.handlers.lifecycle, batch, faults).finally(() => {
    for (const d of ds) d.returned();
  });
  note(
    state,
    `batch ${items.map((it) => `${it.kind} ${it.instance}`).join(', ')} ${JSON.stringify(faults ?? {})} → ${JSON.stringify(out).slice(0, 900)}`,
  );
  const failed = new Set(
    out.kind === 'done'
      ? ((out.value as { batchItemFailures?: { itemIdentifier: string }[] }).batchItemFailures ?? []).map(
          (f) => f.itemIdentifier,
        )
      : [],
  );
  // The batch answers failures only: an acknowledged duplicate (IN_PROGRESS) cannot be told from a done record, so
  // every record counts as acknowledged without being known done. A batched terminate is then not taken as the
  // instance's stop (direct terminates carry that check), and a token whose earlier delivery died stays owed a
  // redelivery (quiet() sends it; a token the batch did handle answers from its idempotency record).
  ds.forEach((d, i) => {
    const id = batch.Records[i]?.messageId as string;
    settled(state, d, out.kind === 'died' || failed.has(id) ? 'died' : 'ignored');
  });
}

interface Dispatched {
  readonly kind: 'launch' | 'terminate';
  readonly instance: string;
  readonly token: string;
  readonly event: unknown;
  /** When the delivery started (epoch ms). */
  readonly started: number;
  /** The invocation returned (or died): the launch is no longer under way. */
  returned(): void;
}

/** The event for the instance's action (its token as before: a redelivery), noted as delivered and under way. */
function dispatched(state: SeqState, kind: 'launch' | 'terminate', instance: string): Dispatched {
  const token = state.tokenOf.get(`${kind} ${instance}`) as string;
  const fixture = kind === 'launch' ? launchFixture : terminateFixture;
  const event = lifecycleEvent(fixture, {
    EC2InstanceId: instance,
    LifecycleActionToken: token,
    AutoScalingGroupName: ASG,
  });
  state.delivered.add(token);
  const started = Date.now();
  const launching = state.launching.get(instance) ?? [];
  if (kind === 'launch') {
    state.launching.set(instance, [...launching, started]);
    if (!state.launchBegan.has(instance)) state.launchBegan.set(instance, started);
  } else touch(state, instance);
  return {
    kind,
    instance,
    token,
    event,
    started,
    returned: () => {
      if (kind !== 'launch') return;
      const left = [...(state.launching.get(instance) ?? [])];
      left.splice(left.indexOf(started), 1);
      state.launching.set(instance, left);
    },
  };
}

/**
 * How a delivery ended: `died` ones come again, and from a terminate's normal return on its instance gets no request.
 * Only a delivery that did the work settles a died one: an `ignored` one may be the IN_PROGRESS answer to a duplicate
 * of a delivery that died meanwhile, whose message SQS still delivers again (it was never acknowledged).
 */
function settled(state: SeqState, d: Dispatched, how: 'done' | 'ignored' | 'died', drained = false): void {
  if (how === 'died') state.undelivered.add(d.token);
  else if (how === 'done') state.undelivered.delete(d.token);
  // From a terminate's normal return on, its instance gets no new request when its answer says the drain is on every
  // host, unless a host took no batch meanwhile (flapSince): otherwise only from its completion on (checks.ts,
  // judgeCompletion).
  if (d.kind === 'terminate' && how === 'done' && drained && !flapSince(state, d.started)) {
    const now = Date.now();
    state.stoppedAt.set(d.instance, Math.min(state.stoppedAt.get(d.instance) ?? now, now));
  }
}

/** The EC2 notices a step may deliver (issue 14). */
export type NoticeKind = 'spot' | 'spot-stop' | 'rebalance' | 'stopping' | 'shutting-down' | 'terminated';

function noticeEvent(kind: NoticeKind, instance: string): Record<string, unknown> {
  switch (kind) {
    case 'spot':
    case 'spot-stop':
      return instanceEvent(spotFixture, {
        'instance-id': instance,
        'instance-action': kind === 'spot' ? 'terminate' : 'stop',
      });
    case 'rebalance':
      return instanceEvent(rebalanceFixture, { 'instance-id': instance });
    default:
      return instanceEvent(stateFixture, { 'instance-id': instance, state: kind });
  }
}

/**
 * Delivers an EC2 notice to the lifecycle handler. From its normal return on, an
 * instance that is going for good gets no new request; a stop may come back (the launch path owns that), so it is
 * held to the other invariants only.
 */
export async function notice(
  world: World,
  state: SeqState,
  kind: NoticeKind,
  instance: string,
  faults?: StepFaults,
): Promise<void> {
  // Direct (one EventBridge event): its answer says whether the instance held a slot. A notice for an instance that
  // holds none changes nothing, so a launch delivered after it is the launch path's to decide.
  touch(state, instance);
  const started = Date.now();
  const out = await invoke(world, world.handlers.lifecycle, noticeEvent(kind, instance), faults);
  note(state, `notice ${kind} ${instance} ${JSON.stringify(faults ?? {})} → ${JSON.stringify(out).slice(0, 300)}`);
  const leaving = out.kind === 'done' && (out.value as { effect?: string }).effect === 'leaving';
  if (!leaving || kind === 'spot-stop' || kind === 'stopping' || flapSince(state, started)) return;
  const now = Date.now();
  state.stoppedAt.set(instance, Math.min(state.stoppedAt.get(instance) ?? now, now));
}

/** A reconcile pass through its handler. */
export async function reconcile(world: World, faults?: StepFaults, state?: SeqState): Promise<Outcome> {
  const out = await invoke(world, world.handlers.reconcile, {}, faults);
  if (state) {
    const v = (out.kind === 'done' ? out.value : {}) as Record<string, unknown>;
    const brief = {
      kind: out.kind,
      commandsSent: v.commandsSent,
      launches: v.launches,
      settled: v.settled,
      releases: v.releases,
      failures: v.failures,
    };
    note(state, `reconcile ${JSON.stringify(faults ?? {})} → ${JSON.stringify(brief)}`);
  }
  return out;
}

const member = (world: World, id: string, at: number) => ({
  id,
  address: world.addresses.get(id)?.[at % (world.addresses.get(id)?.length ?? 1)] as string,
  port: world.port,
});

/** A webhook change as a deploy tool sends it. */
export type Change =
  | { readonly action: 'register'; readonly m: number; readonly at: number }
  | { readonly action: 'deregister' | 'drain' | 'ready' | 'maint'; readonly m: number }
  | { readonly action: 'weight'; readonly m: number; readonly weight: number };

/** Who a change is about: deploy-tool members, and (for holds, ready, weight) the instances too. */
function who(c: Change): string {
  const all = c.action === 'register' || c.action === 'deregister' ? MEMBERS : [...MEMBERS, ...INSTANCES];
  return all[c.m % all.length] as string;
}

/**
 * One change through the webhook; when run alone, its answer is checked against the table and the hosts. Every call
 * is signed with a fresh webhook-id, as a deploy tool's is: the same id again would be a replay.
 */
export async function webhookChange(world: World, state: SeqState, c: Change, alone: boolean, faults?: StepFaults) {
  const id = who(c);
  const body = {
    action: c.action,
    backend: 'app',
    member: member(world, id, c.action === 'register' ? c.at : 0),
    ...(c.action === 'weight' ? { weight: c.weight } : {}),
  };
  const before = await world.store.findByMember('app', id);
  touch(state, id);
  const out = await invoke(world, world.handlers.webhook, webhookEvent(body, SECRET), faults);
  note(state, `webhook ${JSON.stringify(body)} → ${JSON.stringify(out).slice(0, 200)}`);
  if (!alone || out.kind === 'died') return;
  const res = out.value as { statusCode: number; body: string };
  const answer = JSON.parse(res.body);
  const after = await world.store.findByMember('app', id);
  await judgeAnswer(world, state, c, body.member, res.statusCode, answer, before, after);
}

async function judgeAnswer(
  world: World,
  state: SeqState,
  c: Change,
  m: { id: string; address: string; port: number },
  status: number,
  answer: { results?: { status: string }[] },
  before: SlotRecord | undefined,
  after: SlotRecord | undefined,
): Promise<void> {
  const what = `${c.action} ${m.id} answered ${status} ${answer.results?.[0]?.status ?? JSON.stringify(answer).slice(0, 120)}`;
  if (status >= 400) {
    // A refusal (or a failure before anything was applied) changes nothing the member owns.
    const same = JSON.stringify(strip(before)) === JSON.stringify(strip(after));
    check(state, same, () => `${what}, yet its slot changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    return;
  }
  const result = answer.results?.[0]?.status;
  if (result !== 'applied' && result !== 'moved') return;
  const expect = (ok: boolean, why: string) => check(state, ok, () => `${what}, but ${why}`);
  if (c.action === 'register')
    expect(after?.address === m.address && after.state !== 'draining', `the table has ${JSON.stringify(after)}`);
  if (c.action === 'drain' || c.action === 'maint')
    expect(after?.state === 'held' && after.heldAdmin === c.action, `the table has ${after?.state}`);
  if (c.action === 'ready') expect(after?.state === 'active', `the table has ${after?.state}`);
  if (c.action === 'weight') expect(after?.weight === c.weight, `the table has weight ${after?.weight}`);
  if (!after) return;
  // An operator's hold outlives a register or weight change at the same place: the hosts keep the held admin state.
  const wanted =
    c.action === 'drain' || c.action === 'maint'
      ? c.action
      : after.state === 'held'
        ? after.heldAdmin
        : c.action === 'weight'
          ? undefined
          : 'ready';
  for (const [h, o] of (await world.fleet.observe(['app'])).entries()) {
    if (!o.ok) continue;
    const row = o.backends.get('app')?.find((x) => x.server === after.slot);
    if (wanted) expect(row?.admin === wanted, `host ${h} shows app/${after.slot} ${row?.admin}`);
    if (c.action === 'weight') expect(row?.weight === c.weight, `host ${h} shows weight ${row?.weight}`);
  }
}

function strip(r: SlotRecord | undefined) {
  if (!r) return undefined;
  const { version: _v, ...rest } = r;
  return rest;
}

/** A desired member set for backend app: the listed members at the listed addresses, everyone else out. */
export async function desiredSet(
  world: World,
  state: SeqState,
  picks: readonly (readonly [number, number])[],
  alone: boolean,
) {
  const members = [...new Map(picks.map(([m, at]) => [MEMBERS[m % MEMBERS.length] as string, at])).entries()].map(
    ([id, at]) => member(world, id, at),
  );
  const asgBefore = (await world.store.list('app')).filter((s) => s.owner === 'asg' && s.state === 'active');
  const out = await invoke(
    world,
    world.handlers.webhook,
    webhookEvent({ backend: 'app', members, allowEmpty: true }, SECRET),
  );
  if (!alone || out.kind === 'died') return;
  // Whatever it answered, it never touched a member the Auto Scaling path registered.
  const after = await world.store.list('app');
  for (const s of asgBefore) {
    const now = after.find((x) => x.member === s.member);
    const deregistered = now === undefined || (now.state === 'draining' && now.drainReason === 'deregister');
    check(state, !deregistered, () => `a desired set deregistered Auto Scaling member ${s.member} (${now?.state})`);
  }
}

/** The operator CLI in-process: `drain|disable|enable` of an instance or member by id. */
export async function cli(state: SeqState, verb: 'drain' | 'disable' | 'enable', m: number): Promise<void> {
  const all = [...MEMBERS, ...INSTANCES];
  const id = all[m % all.length] as string;
  touch(state, id);
  const io = { out: () => true, err: () => true };
  const code = await main([verb, id, '--backend', 'app'], process.env, io);
  check(state, code === 0 || code === 1, () => `slot-sync ${verb} ${id} exited ${code}`);
}

/** A host goes down (SIGKILL: its runtime state is gone) or comes back with nothing but its config. */
export async function host(world: World, state: SeqState, h: number, up: boolean): Promise<void> {
  const handle = world.hosts[h];
  if (!handle) return;
  if (up && state.downHosts.has(h)) {
    await handle.start();
    state.downHosts.delete(h);
  } else if (!up && !state.downHosts.has(h) && state.downHosts.size === 0) {
    await handle.kill('SIGKILL');
    world.relays[h]?.drop();
    state.downHosts.add(h);
  }
}

/** A host's link starts cutting every batch while it answers every look, for `steps` steps (one such host at a time). */
export function flap(world: World, state: SeqState, h: number, steps: number): void {
  const relay = world.relays[h];
  if (!relay || state.flaps.some((f) => f.end === undefined)) return;
  relay.dropWrites(true);
  state.flaps.push({ h, start: Date.now(), untilStep: state.steps + 1 + steps });
  note(state, `host ${h} cuts every batch for ${steps} steps`);
}

/** Ends the spell of a flapping host once the sequence reached its last step (every spell: `step` Infinity). */
export function flapEnds(world: World, state: SeqState, step: number): void {
  for (const f of state.flaps.filter((x) => x.end === undefined && x.untilStep <= step)) {
    world.relays[f.h]?.dropWrites(false);
    f.end = Date.now();
    note(state, `host ${f.h} takes batches again`);
  }
}
