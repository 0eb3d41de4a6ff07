// The local stack's queue (bin/local/queue.ts) against a loopback server that answers the Lambda invoke API the way
// serverless-offline does: batches of at most 10, failed records received again, the DLQ after 5 receives.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverThroughQueue, type Queued } from '../../../bin/local/queue.js';

interface SqsRecord {
  messageId: string;
  body: string;
  eventSource: string;
  attributes: { ApproximateReceiveCount: string };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A Lambda stand-in: `answer` sees each invocation's records and returns the ids to fail, or 'error' for all. */
async function lambda(
  answer: (records: SqsRecord[]) => string[] | 'error',
): Promise<{ url: string; seen: SqsRecord[][] }> {
  const seen: SqsRecord[][] = [];
  const listening = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const records = (JSON.parse(body) as { Records: SqsRecord[] }).Records;
      seen.push(records);
      const out = answer(records);
      if (out === 'error') {
        res.writeHead(200, { 'x-amz-function-error': 'Unhandled' }).end(JSON.stringify({ errorMessage: 'boom' }));
        return;
      }
      res.end(JSON.stringify({ batchItemFailures: out.map((itemIdentifier) => ({ itemIdentifier })) }));
    });
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, seen };
}

const stateFor = (url: string) => ({
  region: 'us-east-1',
  endpoints: { lambda: url } as never,
  functions: { lifecycle: 'svc-local-lifecycle', webhook: 'w', reconcile: 'r' },
});
const events = (n: number): Queued[] =>
  Array.from({ length: n }, (_, i) => ({
    instanceId: `i-${i}`,
    token: `t-${i}`,
    event: { source: 'aws.autoscaling', detail: { LifecycleActionToken: `t-${i}` } },
  }));
const tokenOf = (r: SqsRecord) =>
  (JSON.parse(r.body) as { detail: { LifecycleActionToken: string } }).detail.LifecycleActionToken;

describe('the local lifecycle queue', () => {
  it('delivers 23 events as SQS batches of 10, 10 and 3, each event in exactly one batch', async () => {
    const l = await lambda(() => []);
    const out = await deliverThroughQueue(stateFor(l.url), events(23), 0);
    expect(l.seen.map((b) => b.length).sort((a, b) => b - a)).toEqual([10, 10, 3]);
    expect(l.seen.flat().map(tokenOf).sort()).toEqual(
      events(23)
        .map((e) => e.token)
        .sort(),
    );
    expect(l.seen.flat().every((r) => r.eventSource === 'aws:sqs')).toBe(true);
    expect(out.map((d) => [d.token, d.receives, d.deadLettered])).toEqual(events(23).map((e) => [e.token, 1, false]));
  });

  it('receives again only the records the function reported failed, counting receives', async () => {
    let failOnce = true;
    const l = await lambda((records) => {
      const failed = failOnce ? records.filter((r) => tokenOf(r) === 't-1').map((r) => r.messageId) : [];
      failOnce = false;
      return failed;
    });
    const out = await deliverThroughQueue(stateFor(l.url), events(3), 0);
    expect(l.seen.map((b) => b.map(tokenOf))).toEqual([['t-0', 't-1', 't-2'], ['t-1']]);
    expect(l.seen[1]?.[0]?.attributes.ApproximateReceiveCount).toBe('2');
    expect(out.map((d) => [d.token, d.receives, d.deadLettered, d.batchOf])).toEqual([
      ['t-0', 1, false, 3],
      ['t-1', 2, false, 1],
      ['t-2', 1, false, 3],
    ]);
  });

  it('gives up after 5 receives of a record that keeps failing, and a function error fails its whole batch', async () => {
    const l = await lambda((records) => (records.some((r) => tokenOf(r) === 't-0') ? 'error' : []));
    const out = await deliverThroughQueue(stateFor(l.url), events(2), 0);
    expect(l.seen.map((b) => b.map(tokenOf))).toEqual([
      ['t-0', 't-1'],
      ['t-0', 't-1'],
      ['t-0', 't-1'],
      ['t-0', 't-1'],
      ['t-0', 't-1'],
    ]);
    expect(out.map((d) => [d.token, d.receives, d.deadLettered, d.result.functionError])).toEqual([
      ['t-0', 5, true, 'Unhandled'],
      ['t-1', 5, true, 'Unhandled'],
    ]);
  });
});
