// Operator CLI: colour on a terminal only (NO_COLOR honoured), through node:util styleText; plain text everywhere else.
import { styleText } from 'node:util';

/** What a piece of output means; each kind has one look, so the same fact reads the same in status, watch and waits. */
export const STYLES = {
  ok: ['green'],
  warning: ['yellow'],
  critical: ['red', 'bold'],
  unknown: ['magenta'],
  drift: ['yellow', 'bold'],
  muted: ['dim'],
  heading: ['bold'],
} as const satisfies Record<string, readonly Parameters<typeof styleText>[0][]>;

export type Style = keyof typeof STYLES;

/** Applies a style to text, or returns it unchanged when colour is off. */
export type Paint = (style: Style | undefined, text: string) => string;

/** No colour: for pipes, files, `--json`, and NO_COLOR. */
export const plain: Paint = (_style, text) => text;

/** Colour, unconditionally (the caller decided it writes to a terminal). */
export const coloured: Paint = (style, text) =>
  // validateStream off: the decision is made once, by colourFor, for the stream this text goes to.
  style === undefined || text === '' ? text : styleText([...STYLES[style]], text, { validateStream: false });

/**
 * Colour only for a terminal, and never when NO_COLOR is set to anything but '' (https://no-color.org); FORCE_COLOR
 * (anything but '0') turns it on for a pipe, e.g. into `less -R`.
 */
export function colourFor(stream: { readonly isTTY?: boolean }, env: Record<string, string | undefined>): Paint {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return plain;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return coloured;
  return stream.isTTY === true ? coloured : plain;
}
