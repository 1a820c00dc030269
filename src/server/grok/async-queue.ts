/**
 * Flow control for a queue fed by a source that can stop and restart (a WebSocket's socket reads):
 * `pause()` once more than `highWaterItems` items or `highWaterBytes` bytes are buffered,
 * `resume()` once the reader has brought both down to the low-water marks.
 */
export interface QueueFlow {
  highWaterItems: number;
  highWaterBytes: number;
  lowWaterItems: number;
  lowWaterBytes: number;
  pause(): void;
  resume(): void;
}

/** Read-only figures of one queue: the most it ever buffered at once, and how often it paused its source. */
export interface QueueStats {
  peakItems: number;
  peakBytes: number;
  pauses: number;
}

/** A small push/pull queue bridging callback APIs (WebSocket events) to async iteration. */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;
  private paused = false;
  private readonly figures: QueueStats = { peakItems: 0, peakBytes: 0, pauses: 0 };
  private waiter: { resolve: (v: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private closed = false;
  private failure: unknown = null;

  constructor(private readonly flow?: QueueFlow) {}

  get stats(): Readonly<QueueStats> {
    return { ...this.figures };
  }

  /** `bytes` is the item's weight for the byte marks (e.g. the length of the frame's text). */
  push(item: T, bytes = 0): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.sizes.push(bytes);
    this.bytes += bytes;
    this.figures.peakItems = Math.max(this.figures.peakItems, this.items.length);
    this.figures.peakBytes = Math.max(this.figures.peakBytes, this.bytes);
    const f = this.flow;
    if (f && !this.paused && (this.items.length > f.highWaterItems || this.bytes > f.highWaterBytes)) {
      this.paused = true;
      this.figures.pauses++;
      f.pause();
    }
  }

  close(): void {
    this.closed = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: undefined as never, done: true });
    }
  }

  fail(err: unknown): void {
    if (this.closed) return;
    this.failure = err;
    this.closed = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length) return Promise.resolve({ value: this.take(), done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined as never, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private take(): T {
    const item = this.items.shift()!;
    this.bytes -= this.sizes.shift()!;
    const f = this.flow;
    if (f && this.paused && this.items.length <= f.lowWaterItems && this.bytes <= f.lowWaterBytes) {
      this.paused = false;
      f.resume();
    }
    return item;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }
}
