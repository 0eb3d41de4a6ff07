// Parsers for the two small line replies: `show info` (Key: value lines) and `get weight` (`N (initial M)`).
import { ParseError } from '../errors.js';

/** `show info` as a key → value map. Throws ParseError unless it is `Key: value` lines including `Pid`. */
export function parseShowInfo(text: string): Readonly<Record<string, string>> {
  const info: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([^:]+):(?: (.*))?$/.exec(line); // keys may hold spaces: `Unstoppable Jobs: 0`
    if (!match?.[1]) throw new ParseError(`show info: not a 'Key: value' line: ${JSON.stringify(line.slice(0, 120))}`);
    info[match[1]] = match[2] ?? '';
  }
  // Pid is what reveals a reload to the caller; an error text never has it.
  if (!/^\d+$/.test(info.Pid ?? '')) throw new ParseError('show info: no Pid line');
  return Object.freeze(info);
}

/** `get weight` → `{ current, initial }` from `N (initial M)`. Throws ParseError on anything else (an error text). */
export function parseGetWeight(text: string): { current: number; initial: number } {
  const match = /^(\d+) \(initial (\d+)\)$/.exec(text.trim());
  if (!match)
    throw new ParseError(`get weight: expected 'N (initial M)', got ${JSON.stringify(text.trim().slice(0, 120))}`);
  return { current: Number(match[1]), initial: Number(match[2]) };
}
