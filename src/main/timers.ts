/** Time for the main-process logic, injectable so tests drive it (vitest fake timers or a manual clock). */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref?.();
    return t;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/**
 * Runs `fn` at most once per `intervalMs`: a request when idle runs at once; requests within the
 * interval collapse into one run at its end.
 */
export class Throttle {
  private lastRun = -Infinity;
  private pending: unknown = null;

  constructor(
    private readonly fn: () => void,
    private readonly intervalMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  request(): void {
    if (this.pending !== null) return;
    const wait = this.lastRun + this.intervalMs - this.timers.now();
    if (wait <= 0) this.run();
    else this.pending = this.timers.setTimeout(() => this.run(), wait);
  }

  private run(): void {
    this.pending = null;
    this.lastRun = this.timers.now();
    this.fn();
  }

  cancel(): void {
    if (this.pending !== null) this.timers.clearTimeout(this.pending);
    this.pending = null;
  }
}
