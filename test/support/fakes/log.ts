// Test fake of the services' log: keeps every line so a test can say what was reported, and prints nothing.
import type { ServiceLog } from '../../../functions/lib/services/deps.js';

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra?: Record<string, unknown>;
}

/** A ServiceLog that records. */
export class RecordingLog implements ServiceLog {
  readonly lines: LogLine[] = [];
  info(message: string, extra?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, extra });
  }
  warn(message: string, extra?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, extra });
  }
  error(message: string, extra?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, extra });
  }
  messages(level?: LogLine['level']): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }
}
