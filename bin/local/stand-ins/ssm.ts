// Local stack: SSM stand-in speaking JSON 1.1 (`X-Amz-Target: AmazonSSM.<Op>`), GetParameter(s) only.
import type { CallRecord, Reply, StandInServer } from './http.js';
import { record, serveLoopback } from './http.js';

const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** A stored parameter; SecureString values are only returned with WithDecryption, like the real service. */
export interface StoredParameter {
  readonly value: string;
  readonly type: 'String' | 'SecureString';
}

/** The running stand-in, its parameters (mutable, so a test can rotate a secret) and every call it answered. */
export interface SsmStandIn extends StandInServer {
  readonly parameters: Map<string, StoredParameter>;
  readonly calls: readonly CallRecord[];
}

function reply(status: number, value: unknown): Reply {
  return { status, contentType: CONTENT_TYPE, body: JSON.stringify(value) };
}

function fault(status: number, type: string, message: string): Reply {
  return reply(status, { __type: type, message });
}

function shape(name: string, p: StoredParameter, decrypt: boolean) {
  // The real service returns KMS ciphertext without decryption; a recognisable placeholder stands in for it.
  const value = p.type === 'SecureString' && !decrypt ? `encrypted:${Buffer.from(name).toString('base64')}` : p.value;
  return {
    Name: name,
    Type: p.type,
    Value: value,
    Version: 1,
    LastModifiedDate: 1_700_000_000,
    ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${name.startsWith('/') ? '' : '/'}${name}`,
    DataType: 'text',
  };
}

function operate(target: string, input: Record<string, unknown>, parameters: Map<string, StoredParameter>): Reply {
  const decrypt = input.WithDecryption === true;
  switch (target) {
    case 'AmazonSSM.GetParameter': {
      const name = String(input.Name ?? '');
      const p = parameters.get(name);
      if (!p) return fault(400, 'ParameterNotFound', `Parameter ${name} not found.`);
      return reply(200, { Parameter: shape(name, p, decrypt) });
    }
    case 'AmazonSSM.GetParameters': {
      const names = Array.isArray(input.Names) ? input.Names.map(String) : [];
      if (names.length === 0 || names.length > 10) {
        return fault(
          400,
          'ValidationException',
          "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10",
        );
      }
      const found = names.filter((n) => parameters.has(n));
      return reply(200, {
        Parameters: found.map((n) => shape(n, parameters.get(n) as StoredParameter, decrypt)),
        InvalidParameters: names.filter((n) => !parameters.has(n)),
      });
    }
    default:
      return fault(400, 'UnknownOperationException', `operation ${target || '(no X-Amz-Target)'} is not supported`);
  }
}

/** Starts the SSM stand-in on 127.0.0.1 holding `initial` (name → parameter). */
export async function startSsmStandIn(initial: Record<string, StoredParameter>, port = 0): Promise<SsmStandIn> {
  const parameters = new Map(Object.entries(initial));
  const calls: CallRecord[] = [];
  const server = await serveLoopback((req, body) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    let input: Record<string, unknown> = {};
    let result: Reply;
    try {
      input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      result =
        req.method === 'POST'
          ? operate(target, input, parameters)
          : fault(400, 'UnknownOperationException', 'POST only');
    } catch {
      result = fault(400, 'SerializationException', 'request body is not JSON');
    }
    const error = result.status >= 300 ? (JSON.parse(result.body) as { __type: string }).__type : undefined;
    record(calls, {
      service: 'ssm',
      action: target.replace(/^AmazonSSM\./, ''),
      params: input,
      status: result.status,
      ...(error ? { error } : {}),
    });
    return result;
  }, port);
  return { ...server, parameters, calls };
}
