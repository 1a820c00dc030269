import type { ServerResponse } from "node:http";

/**
 * The one SSE writer: headers sent lazily (so a failure before any output can still be an
 * ordinary HTTP error), one write per event, backpressure honoured, a keep-alive every
 * `keepAliveMs` of silence, and `aborted` as soon as the client goes away.
 */
export class SseWriter {
  private opened = false;
  private ended = false;
  private timer: NodeJS.Timeout | null = null;
  private lastWrite = Date.now();
  private out: string[] = [];
  private outBytes = 0;
  private flushScheduled = false;
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

  get closed(): boolean {
    return this.ended || this.abort.signal.aborted;
  }

  /** Sends the 200 and SSE headers now (normally done by the first event). */
  open(): void {
    if (this.opened || this.closed) return;
    this.opened = true;
    this.res.statusCode = 200;
    this.res.setHeader("content-type", "text/event-stream; charset=utf-8");
    this.res.setHeader("cache-control", "no-cache");
    this.res.setHeader("connection", "keep-alive");
    this.res.setHeader("x-accel-buffering", "no");
    for (const [k, v] of Object.entries(this.opts.headers ?? {})) this.res.setHeader(k, v);
    this.res.flushHeaders();
    this.res.socket?.setNoDelay(true);
  }

  /** One event: `event: name` (when given) and `data: <json or text>`. */
  async send(data: unknown, event?: string): Promise<void> {
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    await this.write(`${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`);
  }

  async comment(text: string): Promise<void> {
    await this.write(text.startsWith(":") ? text : `: ${text}\n\n`);
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
    if (!this.opened) this.open();
    this.flush();
    if (!this.res.writableEnded) this.res.end();
  }

  /**
   * Events produced in the same turn of the event loop are joined into one socket write
   * (flushed on setImmediate, or at once past 64 KiB); backpressure waits for 'drain'.
   */
  private async write(chunk: string): Promise<void> {
    if (this.closed) return;
    this.open();
    this.lastWrite = Date.now();
    if (!this.timer) this.arm();
    if (!this.flushScheduled) {
      // First write of this turn of the event loop: out at once; later ones in this turn batch.
      this.flushScheduled = true;
      setImmediate(() => this.flush());
      if (!this.res.write(chunk)) await this.drained();
      return;
    }
    this.out.push(chunk);
    this.outBytes += chunk.length;
    if (this.outBytes < 65536) {
      return;
    }
    if (!this.flush()) await this.drained();
  }

  /** Writes what is buffered; false when the socket asked to wait. */
  private flush(): boolean {
    this.flushScheduled = false;
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

  /** Keep-alive timer, re-armed lazily: writes only move `lastWrite`. */
  private arm(): void {
    this.stopTimer();
    if (this.ended) return;
    const due = this.lastWrite + this.opts.keepAliveMs - Date.now();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (Date.now() - this.lastWrite >= this.opts.keepAliveMs) void this.write(this.opts.keepAlive()).catch(() => {});
      else this.arm();
    }, Math.max(0, due));
    this.timer.unref?.();
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
