// Lifecycle fuzz: any event, detail or metadata yields a value or a ValidationError; accepted names build clean commands.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { showStat } from '../../../functions/lib/domain/commands.js';
import { ValidationError } from '../../../functions/lib/errors.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { classifyLifecycle } from '../../../functions/lib/services/warm-pool.js';
import {
  parseLifecycleDetail,
  parseLifecycleEvent,
  parseNotificationMetadata,
  transitionOf,
} from '../../../functions/lifecycle/schema.js';

/** The warm-pool rules applied to a whole detail, as the lifecycle service applies them. */
const classify = (d: {
  LifecycleTransition: string;
  Origin?: 'EC2' | 'AutoScalingGroup' | 'WarmPool';
  Destination?: 'EC2' | 'AutoScalingGroup' | 'WarmPool';
}) => classifyLifecycle(transitionOf(d as Parameters<typeof transitionOf>[0]), d.Origin, d.Destination);

const RUNS = 1000;
const launch = JSON.parse(readFileSync(new URL('../../fixtures/events/launch.json', import.meta.url), 'utf8'));

const nasty = fc.constantFrom(
  'i-1234567890abcdef0;',
  'i-1234567890abcdef0\n',
  'i-1234567890abcdeƒ0',
  'web asg',
  'web-asg\r\nX: y',
  'autoscaling:EC2_INSTANCE_LAUNCHING ',
  'WarmPool\u200b',
  '{"backends":["web;show info"]}',
  '{"backends":["web\\nx"]}',
  '{"backends":["ｗｅｂ"]}',
  '{"backends":[1e999]}',
  '{"__proto__":{"backends":["web"]}}',
  '',
);
const text = fc.oneof(
  nasty,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9._:/-]{1,12}$/),
);
const field = fc.constantFrom(...Object.keys(launch.detail), 'Origin', 'Destination', 'Extra');

function expectValidationOnly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return undefined;
  }
}

describe('lifecycle fuzz', () => {
  it('parseLifecycleEvent and parseLifecycleDetail on arbitrary values throw only ValidationError', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expectValidationOnly(() => parseLifecycleEvent(value));
        expectValidationOnly(() => parseLifecycleDetail(value));
      }),
      { numRuns: RUNS },
    );
  });

  it('a fixture with one field replaced is refused or still yields a clean, classifiable detail', () => {
    let accepted = 0;
    fc.assert(
      fc.property(field, fc.oneof(text, fc.jsonValue()), (key, value) => {
        const event = { ...launch, detail: { ...launch.detail, [key]: value } };
        const parsed = expectValidationOnly(() => parseLifecycleEvent(event));
        if (!parsed) return;
        accepted++;
        const d = parsed.detail;
        for (const s of [d.EC2InstanceId, d.AutoScalingGroupName, d.LifecycleHookName, d.LifecycleActionToken]) {
          expect(s).not.toMatch(/[;\s]/);
        }
        expect(['register', 'deregister', 'skip']).toContain(classify(d).kind);
      }),
      { numRuns: 2 * RUNS },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('parseNotificationMetadata on arbitrary text yields backends that build clean commands, or a ValidationError', () => {
    let accepted = 0;
    const metadata = fc.oneof(
      text,
      fc.json({ stringUnit: 'binary' }),
      fc.array(text, { minLength: 1, maxLength: 3 }).map((backends) => JSON.stringify({ backends })),
    );
    fc.assert(
      fc.property(metadata, (raw) => {
        const result = expectValidationOnly(() => parseNotificationMetadata(raw));
        for (const backend of result?.backends ?? []) {
          accepted++;
          expect(renderCommand(showStat(backend))).not.toMatch(/[;\n\r]/);
        }
      }),
      { numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});
