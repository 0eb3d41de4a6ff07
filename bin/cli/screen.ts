// Operator CLI `watch` on a terminal: the alternate screen, a hidden cursor and raw keys — and always giving them back.

/** The terminal the full-screen view draws on. */
export interface Screen {
  /** Replaces what is on screen with `lines` (already cut to the width). */
  draw(lines: readonly string[]): void;
  readonly columns: number;
  readonly rows: number;
  /** Leaves the alternate screen, shows the cursor, gives stdin back; safe to call more than once. */
  restore(): void;
}

const ESC = {
  enter: '\x1b[?1049h\x1b[?25l', // alternate screen buffer, cursor hidden
  leave: '\x1b[?25h\x1b[?1049l', // cursor shown, back to the normal screen (its content comes back untouched)
  home: '\x1b[H',
  clearLine: '\x1b[K',
  clearBelow: '\x1b[J',
  reset: '\x1b[0m',
} as const;

/**
 * Enters full-screen mode on process.stdout. Keys: `q`, `Q` and Ctrl-C (in raw mode it arrives as a byte, not as
 * SIGINT) call `onQuit`; SIGINT, SIGTERM, SIGHUP and the terminal being resized are handled too. The terminal is
 * restored on quit, on those signals, on process exit and on an uncaught error, whichever comes first.
 */
export function enterScreen(onQuit: () => void, onResize: () => void): Screen {
  const { stdin, stdout } = process;
  let restored = false;
  const onKey = (data: Buffer) => {
    const key = data.toString('utf8');
    if (key === 'q' || key === 'Q' || key === '\u0003') onQuit();
  };
  const onSignal = () => onQuit();
  const onCrash = (error: unknown) => {
    restore();
    process.stderr.write(`slot-sync: watch failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  };
  const restore = () => {
    if (restored) return;
    restored = true;
    stdout.write(ESC.leave);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.off('data', onKey);
    stdin.pause();
    stdout.off('resize', onResize);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
    process.off('exit', restore);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  };
  process.on('exit', restore);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  stdout.write(ESC.enter);
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  stdout.on('resize', onResize);
  return {
    get columns() {
      return stdout.columns ?? 80;
    },
    get rows() {
      return stdout.rows ?? 24;
    },
    draw(lines) {
      // Home, overwrite each line and clear its rest, clear below: no flicker, unlike clearing the screen first.
      stdout.write(`${ESC.home}${lines.map((l) => `${l}${ESC.clearLine}`).join('\r\n')}${ESC.clearBelow}`);
    },
    restore,
  };
}

/** Cuts a line to `width` visible characters, keeping (and closing) colour escapes (`ESC [ … letter`). */
export function fitWidth(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line.charCodeAt(i) === 0x1b && line[i + 1] === '[') {
      let end = i + 2;
      while (end < line.length && !/[A-Za-z]/.test(line[end] as string)) end++;
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible === width) return `${out}${ESC.reset}`;
    out += line[i];
    visible++;
  }
  return out;
}
