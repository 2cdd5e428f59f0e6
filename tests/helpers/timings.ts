/** Phase timings a system test prints at its end (what each shared lab step cost). */
export function phaseTimer(): { timings: Array<[string, number]>; timed: <T>(what: string, fn: () => Promise<T>) => Promise<T> } {
  const timings: Array<[string, number]> = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings.push([what, Date.now() - t0]);
    }
  };
  return { timings, timed };
}
