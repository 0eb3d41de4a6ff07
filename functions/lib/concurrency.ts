// A bound on how many tasks of one kind run at once (whole-fleet reads, a batch's claim transactions).

/** Runs at most `n` of the tasks given to it at once, the others in the order they came. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
