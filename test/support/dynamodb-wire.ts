// DynamoDB requests as a relay in front of DynamoDB Local saw them (support/wiretap.ts): the operation from each
// POST's X-Amz-Target header and its JSON body, so tests can say what the handlers asked of which table.

/** One request: `operation` (e.g. `TransactWriteItems`) and its body as sent. */
export interface WireRequest {
  readonly operation: string;
  // biome-ignore lint/suspicious/noExplicitAny: a DynamoDB request body is untyped JSON.
  readonly body: Record<string, any>;
}

/** The requests in what one connection carried, in order; anything that is not a DynamoDB request throws. */
export function dynamodbRequests(text: string): WireRequest[] {
  const out: WireRequest[] = [];
  for (let at = text.indexOf('POST / '); at >= 0; at = text.indexOf('POST / ', at)) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    const head = text.slice(at, headEnd);
    const operation = /x-amz-target: *DynamoDB_20120810\.(\w+)/i.exec(head)?.[1];
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1]);
    if (!operation || !Number.isInteger(length)) throw new Error(`not a DynamoDB request: ${head.slice(0, 200)}`);
    out.push({ operation, body: JSON.parse(text.slice(headEnd + 4, headEnd + 4 + length)) });
    at = headEnd + 4 + length;
  }
  return out;
}
