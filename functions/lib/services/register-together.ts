// One invocation's records register together: the launches of an SQS batch reach registerMembers as one call, so the
// batch costs one observation, one pipelined batch per host and one health-gate loop, not one of each per record
// (ARCHITECTURE.md, "The launch path").
import type { RegisterInput, RegisterResult } from './register.js';

/** What a record registers through: like registerMember, but gathered with the other records of its invocation. */
export type Register = (input: RegisterInput) => Promise<RegisterResult>;

/** One record of the batch: registers through `register`, says `done` when it has finished (however it ended). */
export interface RecordSeat {
  readonly register: Register;
  done(): void;
}

export interface TogetherOptions {
  /** How many records the invocation has: a gathering waits for all of them (or for the window). */
  readonly records: number;
  /**
   * Runs the gathered inputs (registerMembers): one result per input in order, and `early` for any input answered
   * before the others are done.
   */
  readonly run: (
    inputs: readonly RegisterInput[],
    early: (i: number, result: RegisterResult) => void,
  ) => Promise<readonly (RegisterResult | Error)[]>;
  /** The longest a registration waits for the batch's other records to reach theirs. */
  readonly windowMs: number;
  /** Resolves after `ms` (the clock port's sleep). */
  readonly wait: (ms: number) => Promise<void>;
}

interface Waiting {
  readonly input: RegisterInput;
  resolve(result: RegisterResult): void;
  reject(error: unknown): void;
}

/**
 * The gathering point. A record registers once (in each of its backends, in one tick), so registrations wait until
 * every record has either registered or finished, then go out as one registerMembers call. A record that is slow to
 * get here (its idempotency write, its EC2 lookup) holds the others back at most `windowMs`; then those waiting go
 * without it, and it goes with the next gathering. Records that never register (a terminate, a duplicate, a bad body)
 * count only until they are done. Each record still gets its own result or its own error, as soon as it is known:
 * the batch shares the work, not the outcome.
 */
export function together(options: TogetherOptions): { seat(): RecordSeat } {
  let waiting: Waiting[] = [];
  // Records that registered or finished: none of them will come to a later gathering of their own accord.
  const settled = new Set<object>();
  // Which gathering a window belongs to: a window that ends after its gathering went out does nothing.
  let generation = 0;
  let windowFor = -1;
  let checkQueued = false;

  function go(): void {
    const batch = waiting;
    waiting = [];
    generation++;
    const early = (i: number, result: RegisterResult) => batch[i]?.resolve(result);
    options
      .run(
        batch.map((w) => w.input),
        early,
      )
      .then(
        (results) => {
          batch.forEach((w, i) => {
            const r = results[i];
            // A promise settles once: an input answered early keeps that answer.
            if (r === undefined) w.reject(new Error('registerMembers answered fewer results than inputs'));
            else if (r instanceof Error) w.reject(r);
            else w.resolve(r);
          });
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      );
  }

  function check(): void {
    if (waiting.length === 0) return;
    if (settled.size >= options.records) {
      go();
      return;
    }
    if (windowFor === generation) return;
    windowFor = generation;
    const mine = generation;
    const windowOver = () => {
      if (mine === generation && waiting.length > 0) go();
    };
    // A wait that fails (the clock of an invocation being cut off) ends the window too, never an unhandled rejection.
    options.wait(options.windowMs).then(windowOver, windowOver);
  }

  // A record registers in each of its backends in one tick: looking after the tick keeps them in one gathering.
  function checkSoon(): void {
    if (checkQueued) return;
    checkQueued = true;
    queueMicrotask(() => {
      checkQueued = false;
      check();
    });
  }

  return {
    seat() {
      const seat = {};
      return {
        register: (input) =>
          new Promise<RegisterResult>((resolve, reject) => {
            waiting.push({ input, resolve, reject });
            settled.add(seat);
            checkSoon();
          }),
        done() {
          settled.add(seat);
          checkSoon();
        },
      };
    },
  };
}
