// Errors as one sentence: the AWS failures that need an account or a network to reproduce, by their SDK shape.
import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../../bin/cli/environment.js';
import { explain } from '../../../bin/cli/explain.js';
import { UsageError } from '../../../bin/cli/usage.js';
import { NotFoundError, StoreUnavailableError } from '../../../functions/lib/errors.js';

/** An error the way the SDK throws it: a class name and the service metadata. */
function sdkError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}
const fromStore = (cause: Error) => new StoreUnavailableError(`query web: ${cause.name}: ${cause.message}`, { cause });
const env = { SLOT_TABLE: 'slots', CONFIG_PARAMETER: '/p/config', AWS_REGION: 'eu-west-1' };

describe('explain', () => {
  it.each([
    [
      'ExpiredTokenException',
      'AWS_CREDENTIALS_REJECTED',
      'AWS rejected the credentials (ExpiredTokenException): they are wrong or expired',
    ],
    [
      'UnrecognizedClientException',
      'AWS_CREDENTIALS_REJECTED',
      'AWS rejected the credentials (UnrecognizedClientException)',
    ],
    [
      'AccessDeniedException',
      'AWS_ACCESS_DENIED',
      "the credentials may not use the slot table slots: attach the stack's OperatorPolicy to them",
    ],
    [
      'ResourceNotFoundException',
      'TABLE_NOT_FOUND',
      'the slot table slots does not exist in eu-west-1: check SLOT_TABLE',
    ],
  ])('a table call failing with %s is a configuration problem (%s)', (name, code, sentence) => {
    const e = explain(fromStore(sdkError(name)), { env });
    expect(e).toMatchObject({ code, kind: 'configuration' });
    expect(e.sentence).toContain(sentence);
  });

  it('names the operator policies and ssm:GetParameter when SSM refuses the config parameter', () => {
    const e = explain(sdkError('AccessDeniedException'), { env, service: 'SSM' });
    expect(e.sentence).toBe(
      "the credentials may not read /p/config: attach the stack's OperatorReadOnlyPolicy or OperatorPolicy to them (ssm:GetParameter on it, kms:Decrypt through SSM for a SecureString); the stack outputs their ARNs",
    );
  });

  it('calls throttling past the retries and 5xx "did not answer": unreachable, try again', () => {
    const e = explain(fromStore(sdkError('ProvisionedThroughputExceededException')), { env });
    expect(e).toEqual({
      code: 'DYNAMODB_UNREACHABLE',
      kind: 'unreachable',
      sentence:
        "DynamoDB did not answer in eu-west-1 (ProvisionedThroughputExceededException): try again; if it persists, check the service's health",
    });
  });

  it('points at the network path, not a stand-in, when no endpoint variable is set', () => {
    const refused = Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
    expect(explain(fromStore(refused), { env }).sentence).toBe(
      'cannot reach DynamoDB in eu-west-1 (timed out): check the network path to AWS (proxy, VPC endpoint, security group)',
    );
  });

  it('keeps usage, environment and domain errors as they are, with their kind', () => {
    expect(explain(new UsageError('bad'), { env })).toEqual({
      code: 'USAGE',
      kind: 'usage',
      sentence: "bad (see 'slot-sync --help')",
    });
    expect(explain(new EnvironmentError('set X'), { env }).kind).toBe('configuration');
    expect(explain(new NotFoundError('i-9 owns no slot'), { env })).toEqual({
      code: 'NOT_FOUND',
      kind: 'failed',
      sentence: 'i-9 owns no slot',
    });
    expect(explain(new Error('two\nlines'), { env })).toEqual({
      code: 'FAILED',
      kind: 'failed',
      sentence: 'two lines',
    });
  });
});
