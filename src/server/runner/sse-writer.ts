import type { ServerResponse } from "node:http";

const DONE: Promise<void> = Promise.resolve();

/** Minimum gap between socket writes while events arrive faster than this. */
const COALESCE_MS = 2;

/**
 * One timer for the keep-alives of every open stream (instead of a timer per stream): every
 * 250 ms, each writer silent for its keep-alive interval (≥ 1 s) sends one.
 */
const keepAlives = {
  writers: new Set<SseWriter>(),
  timer: null as NodeJS.Timeout | null,
  add(w: SseWriter): void {
    this.writers.add(w);
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const x of this.writers) x.keepAliveDue(now);
    }, 250);
    this.timer.unref();
  },
  remove(w: SseWriter): void {
    if (!this.writers.delete(w) || this.writers.size || !this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
  },
};

/**
 * The one SSE writer: headers sent lazily (so a failure before any output can still be an
 * ordinary HTTP error), one write per event, backpressure honoured, a keep-alive every
 * `keepAliveMs` of silence, and `aborted` as soon as the client goes away.
 */
export class SseWriter {
  private opened = false;
  private ended = false;
  private lastWrite = Date.now();
  private out: string[] = [];
  private outBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private lastFlush = 0;
  private tickPending = false;
  private onOpen: (() => void) | null = null;
  readonly abort = new AbortController();

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: { keepAliveMs: number; keepAlive: () => string; headers?: Record<string, string> },
  ) {
    res.on("close", () => {
      if (!this.ended) this.abort.abort(new Error("client disconnected"));
      this.stopTimer();
    });
    this.arm();
  }

  get headersSent(): boolean {
    return this.opened;
  }

  /** Resolves once the status and headers are decided (the first write); never, if nothing is written. */
  whenOpen(): Promise<void> {
    if (this.opened) return DONE;
    return new Promise<void>((resolve) => (this.onOpen = resolve));
  }

  get closed(): boolean {
    return this.ended || this.abort.signal.aborted;
  }

  /** Sends the 200 and SSE headers now (normally they leave with the first event, in one write). */
  open(): void {
    if (this.opened || this.closed) return;
    this.prepare();
    this.res.flushHeaders();
  }

  /** Status and headers set, to go out with the first write (one syscall for headers and the first events). */
  private prepare(): void {
    this.opened = true;
    const onOpen = this.onOpen;
    this.onOpen = null;
    onOpen?.();
    this.res.statusCode = 200;
    this.res.setHeader("content-type", "text/event-stream; charset=utf-8");
    this.res.setHeader("cache-control", "no-cache");
    this.res.setHeader("connection", "keep-alive");
    this.res.setHeader("x-accel-buffering", "no");
    for (const [k, v] of Object.entries(this.opts.headers ?? {})) this.res.setHeader(k, v);
    this.res.socket?.setNoDelay(true);
  }

  /** One event: `event: name` (when given) and `data: <json or text>`. */
  send(data: unknown, event?: string): Promise<void> {
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    return this.write(`${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`);
  }

  comment(text: string): Promise<void> {
    return this.write(text.startsWith(":") ? text : `: ${text}\n\n`);
  }

  /** Gives the response back unused (nothing was written): stops the keep-alive timer. */
  detach(): void {
    this.ended = true;
    this.stopTimer();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopTimer();
    if (!this.opened) this.prepare();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.res.writableEnded) return;
    // what is still buffered and the end of the chunked body leave in one write
    const data = this.out.length === 0 ? "" : this.out.length === 1 ? this.out[0]! : this.out.join("");
    this.out = [];
    this.outBytes = 0;
    if (data && !this.res.destroyed) this.res.end(data);
    else this.res.end();
  }

  /**
   * Nagle-like coalescing: events go out at the end of the current tick when the last socket
   * write was at least COALESCE_MS ago; events arriving faster than that are joined and flushed
   * together at most COALESCE_MS later (or at once past 64 KiB). A token stream of a few per
   * second is unaffected; a flood becomes fewer, larger writes. Backpressure: while the socket
   * needs to drain, write() resolves only after 'drain', so at most 64 KiB wait here per stream.
   */
  private write(chunk: string): Promise<void> {
    if (this.closed) return DONE;
    if (!this.opened) this.prepare();
    const now = Date.now();
    this.lastWrite = now;
    this.out.push(chunk);
    this.outBytes += chunk.length;
    if (this.outBytes >= 65536) {
      return this.flush() ? DONE : this.drained();
    }
    if (!this.flushTimer && !this.tickPending) {
      if (now - this.lastFlush >= COALESCE_MS) {
        // after the current chain of events (e.g. role + first content chunk) has been queued
        this.tickPending = true;
        process.nextTick(() => {
          this.tickPending = false;
          this.flush();
        });
      } else this.flushTimer = setTimeout(() => this.flush(), this.lastFlush + COALESCE_MS - now);
    }
    // The client reads slower than the answer comes: hold the producer (and so grok.com, through
    // the upstream's own backpressure) until the socket drained, instead of buffering the answer.
    return this.res.writableNeedDrain ? this.drained() : DONE; // (one shared resolved promise per event otherwise)
  }

  /** Writes what is buffered; false when the socket asked to wait. */
  private flush(): boolean {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.lastFlush = Date.now();
    if (!this.out.length || this.res.writableEnded || this.res.destroyed) return true;
    const data = this.out.length === 1 ? this.out[0]! : this.out.join("");
    this.out = [];
    this.outBytes = 0;
    return this.res.write(data);
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  /** Keep-alives come from the shared timer (`keepAlives`); writes only move `lastWrite`. */
  private arm(): void {
    if (!this.ended) keepAlives.add(this);
  }

  /** Called by the shared timer: a keep-alive when the stream has been silent for its interval. */
  keepAliveDue(now: number): void {
    if (this.ended || now - this.lastWrite < this.opts.keepAliveMs) return;
    void this.write(this.opts.keepAlive()).catch(() => {});
  }

  private stopTimer(): void {
    keepAlives.remove(this);
  }
}
