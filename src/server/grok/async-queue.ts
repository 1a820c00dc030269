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

/** Told of the next item (or the end) instead of a promise: see AsyncQueue.notify(). */
export interface QueueSink<T> {
  onItem(item: T): void;
  onEnd(): void;
  onError(err: unknown): void;
}

/** A small push/pull queue bridging callback APIs (WebSocket events) to async iteration. */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;
  private paused = false;
  private readonly figures: QueueStats = { peakItems: 0, peakBytes: 0, pauses: 0 };
  private waiter: { resolve: (v: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private sink: QueueSink<T> | null = null;
  private closed = false;
  private failure: unknown = null;

  constructor(private readonly flow?: QueueFlow) {}

  get stats(): Readonly<QueueStats> {
    return { ...this.figures };
  }

  /** `bytes` is the item's weight for the byte marks (e.g. the length of the frame's text). */
  push(item: T, bytes = 0): void {
    if (this.closed) return;
    if (this.sink) {
      const k = this.sink;
      this.sink = null;
      k.onItem(item);
      return;
    }
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
    if (this.sink) {
      const k = this.sink;
      this.sink = null;
      k.onEnd();
    }
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
    if (this.sink) {
      const k = this.sink;
      this.sink = null;
      k.onError(err);
    }
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

  /**
   * The next item to `sink`, synchronously when one is buffered (or the queue has ended), else
   * when it arrives: one pending reader without a promise of its own (a reader that holds many
   * open queues, e.g. every open gateway chat, keeps less).
   */
  notify(sink: QueueSink<T>): void {
    if (this.items.length) return sink.onItem(this.take());
    if (this.failure) return sink.onError(this.failure);
    if (this.closed) return sink.onEnd();
    this.sink = sink;
  }

  /** True when an item is buffered (notify() would hand it over at once). */
  get hasItems(): boolean {
    return this.items.length > 0;
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
