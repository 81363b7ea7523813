// The clock and timer functions the health modules take by injection, so that unit tests
// drive them with a fake clock instead of waiting on real time.

/** Milliseconds on a monotonic clock (never goes back; the origin is arbitrary). */
export type Clock = () => number;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const monotonicClock: Clock = () => performance.now();

/** Node's timers, unref'd: a pending check or expiry never keeps the process alive. */
export const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
