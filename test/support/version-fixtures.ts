// Replies captured from HAProxy 2.6.12, 2.8.0, 3.0.0, 3.2.0 and 3.4.0 (test/fixtures/haproxy/<version>/), by command.
import { readFileSync } from 'node:fs';

/** Every version with a capture folder, oldest first. */
export const CAPTURED_VERSIONS = ['2.6.12', '2.8.0', '3.0.0', '3.2.0', '3.4.0'] as const;
export type CapturedVersion = (typeof CAPTURED_VERSIONS)[number];

/** The prompt-mode sessions whose command order compare.txt lists. */
export const SESSIONS = ['replies.txt', 'replies-extended.txt', 'replies-dynamic.txt'] as const;
export type Session = (typeof SESSIONS)[number];

const DIR = new URL('../fixtures/haproxy/', import.meta.url);
const PROMPT = '\n> ';

/** A file of one version's capture folder, raw. */
export function versionFile(version: CapturedVersion, file: string): string {
  return readFileSync(new URL(`${version}/${file}`, DIR), 'utf8');
}

/** The commands of a session in the order they were sent (compare.txt labels; a repeated command has ` (2)`). */
export function sessionCommands(session: Session): string[] {
  const compare = readFileSync(new URL('compare.txt', DIR), 'utf8');
  const section = compare.split(`######## ${session}\n`)[1]?.split('\n########')[0] ?? '';
  return [...section.matchAll(/^=== '(.*)'$/gm)].map((m) => m[1] ?? '');
}

/**
 * One version's session as the transport would hand it over: the text between two prompts, per command label.
 * The capture starts with the prompt that answers `prompt` and ends after the last prompt (label `<EOF>`).
 */
export function sessionReplies(version: CapturedVersion, session: Session): Map<string, string> {
  const segments = versionFile(version, session).split(PROMPT);
  const labels = sessionCommands(session);
  if (segments[0] !== '' || segments.length !== labels.length + 1) {
    throw new Error(`${version}/${session}: ${segments.length} segments for ${labels.length} commands`);
  }
  return new Map(labels.map((label, i) => [label, segments[i + 1] ?? '']));
}

/** The reply to `label` in a version's session; throws when the capture has no such command. */
export function capturedReply(version: CapturedVersion, session: Session, label: string): string {
  const reply = sessionReplies(version, session).get(label);
  if (reply === undefined) throw new Error(`${version}/${session}: no reply to ${JSON.stringify(label)}`);
  return reply;
}

/** 2.6 and 2.8 (the versions whose replies differ from 3.x in the documented ways). */
export function isPre30(version: CapturedVersion): boolean {
  return version.startsWith('2.');
}
