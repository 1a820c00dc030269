/**
 * The main-thread side of impit-in-a-worker: one worker thread per process (impit-worker.ts),
 * started on the first request and recreated when it dies. The main thread never loads impit; it
 * gets each response's status and headers, then its body in batches (one message per ~2 ms for all
 * streams), acknowledging what its consumer took so the worker holds back a slow reader.
 *
 * The worker keeps the process alive only while requests are in flight. A response whose body is
 * never read nor cancelled is cancelled when it is garbage-collected.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { FromWorker, ImpitWorkerData, ToWorker, WireError } from "./impit-worker-protocol.js";
import type { RequestOptions, UpstreamResponse } from "./transport.js";
import { encodeFormData, streamedResponse } from "./upstream-response.js";

export interface ImpitWorkerOptions {
  /** The worker stops reading a response while this many bytes wait for the main side's consumer (256 KiB)… */
  highWaterBytes?: number;
  /** …and reads on once they are down to this (64 KiB). */
  lowWaterBytes?: number;
  /** At most one batch of body chunks per this window, in ms (2). */
  flushMs?: number;
  /** A batch leaves early once this many bytes are waiting (64 KiB). */
  flushBytes?: number;
}

const DEFAULTS = { highWaterBytes: 256 * 1024, lowWaterBytes: 64 * 1024, flushMs: 2, flushBytes: 64 * 1024 } satisfies Required<ImpitWorkerOptions>;

/** The consumer's progress is acknowledged in steps of this (at most lowWaterBytes / 2, so a paused stream always resumes). */
const ackStep = (o: Required<ImpitWorkerOptions>) => Math.max(1, Math.min(32 * 1024, Math.floor(o.lowWaterBytes / 2)));

/** One request, from `fetch` until its body ended, failed or was cancelled. */
interface Call {
  id: number;
  resolve(res: UpstreamResponse): void;
  reject(err: unknown): void;
  headed: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
  /** Received body batches not yet taken by the consumer. */
  queue: Uint8Array[];
  queuedBytes: number;
  /** Taken but not yet acknowledged. */
  unacked: number;
  ended: boolean;
  error: unknown;
  wake: (() => void) | null;
}

/** What a response's consumer holds (the body, its iterator, cancel…): collected → the call is cancelled. */
interface Handle {
  call: Call;
}

const workerRequire = createRequire(import.meta.url);

/** impit's entry file; inside a packaged app the unpacked copy (asarUnpack), which any thread can load. */
function impitEntry(): string {
  const p = workerRequire.resolve("impit");
  const unpacked = p.replace(/\.asar([\\/])/, ".asar.unpacked$1");
  return unpacked !== p && existsSync(unpacked) ? unpacked : p;
}

/**
 * The worker script next to this module: impit-worker.ts in a source checkout (Node strips its
 * types), impit-worker.js in dist/, impit-worker.cjs next to the desktop app's server bundle.
 */
function workerScript(): { script: string | URL; eval: boolean; execArgv?: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    const script = new URL("./impit-worker.ts", here);
    return { script, eval: false, ...(process.features.typescript ? {} : { execArgv: [...process.execArgv, "--experimental-strip-types"] }) };
  }
  const dist = new URL("./impit-worker.js", here);
  if (existsSync(fileURLToPath(dist))) return { script: dist, eval: false };
  const bundled = fileURLToPath(new URL("./impit-worker.cjs", here));
  // inside app.asar: read here (Electron's fs reads the archive) and run as code, no loader involved
  if (/\.asar[\\/]/.test(bundled)) return { script: readFileSync(bundled, "utf8"), eval: true };
  return { script: bundled, eval: false };
}

function revive(e: WireError): Error {
  const err = new Error(e.message, e.cause ? { cause: revive(e.cause) } : undefined) as Error & { code?: string | number };
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  if (e.stack) err.stack = e.stack;
  return err;
}

function workerGone(detail: string): Error {
  const err = new Error(`impit worker: ${detail}`) as Error & { code: string };
  err.name = "NetworkError";
  err.code = "ERR_IMPIT_WORKER_EXITED";
  return err;
}

const settled = () => {};

const abortReason = (signal: AbortSignal) => signal.reason ?? new DOMException("This operation was aborted", "AbortError");

export class ImpitWorkerHost {
  private readonly opts: Required<ImpitWorkerOptions>;
  private readonly ackBytes: number;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly calls = new Map<number, Call>();
  private readonly unread = new FinalizationRegistry<Call>((call) => this.cancel(call));
  /** Resolves close() when the worker reports its connections released. */
  private onClosed: (() => void) | null = null;
  /** Workers started so far (a test reads it). */
  started = 0;

  constructor(opts: ImpitWorkerOptions = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.ackBytes = ackStep(this.opts);
  }

  /** Requests in flight (fetching, or a body not yet ended or cancelled). */
  get inFlight(): number {
    return this.calls.size;
  }

  /** Body bytes received from the worker and not yet taken by consumers. */
  get queuedBytes(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c.queuedBytes;
    return n;
  }

  /** The current worker (tests stop it to check that requests fail over). */
  get currentWorker(): Worker | null {
    return this.worker;
  }

  async request(url: string, opts: RequestOptions, profile: string): Promise<UpstreamResponse> {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const headers = { ...opts.headers };
    let body: string | Uint8Array | undefined;
    /** Bytes encoded here are ours to give away (transferred); the caller's own bytes are copied. */
    let transfer: ArrayBuffer[] = [];
    if (opts.body instanceof FormData) {
      const bytes = await encodeFormData(opts.body, headers); // here: structured clone cannot carry FormData
      body = bytes;
      transfer = [bytes.buffer];
      if (opts.signal?.aborted) throw abortReason(opts.signal);
    } else body = opts.body;

    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const call: Call = { id, resolve, reject, headed: false, signal: opts.signal, onAbort: null, queue: [], queuedBytes: 0, unacked: 0, ended: false, error: null, wake: null };
      if (opts.signal) {
        const signal = opts.signal;
        call.onAbort = () => this.fail(call, abortReason(signal), true);
        signal.addEventListener("abort", call.onAbort, { once: true });
      }
      this.track(call);
      const msg: ToWorker = { t: "fetch", id, url, profile, method: opts.method, headers, ...(opts.proxyUrl ? { proxyUrl: opts.proxyUrl } : {}), ...(body !== undefined ? { body } : {}) };
      worker.postMessage(msg, transfer);
    });
  }

  /**
   * Server stop: every request in flight fails as a network error, the worker releases their
   * connections (and collects what impit holds), and answers once done (at most 1 s). The worker
   * itself stays, idle and unref'd (it never keeps the process alive), for a later request: a
   * worker thread terminated while impit still holds a connection can abort the whole process
   * when that connection's next event arrives (impit 0.14.4, measured), and an aborted request
   * keeps its connection until the server answers. The process's exit ends it.
   */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    const err = workerGone("the transport was closed");
    for (const call of [...this.calls.values()]) this.fail(call, err, true);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(guard);
        w.off("exit", done);
        this.onClosed = null;
        resolve();
      };
      const guard = setTimeout(done, 1000);
      this.onClosed = done;
      w.once("exit", done);
      w.postMessage({ t: "close" } satisfies ToWorker);
    });
  }

  // ---------------------------------------------------------------------------- worker lifecycle

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const { script, eval: isEval, execArgv } = workerScript();
    const workerData: ImpitWorkerData = { impitPath: impitEntry(), ...this.opts };
    const w = new Worker(script, { eval: isEval, workerData, name: "grok2api-impit", ...(execArgv ? { execArgv } : {}) });
    this.worker = w;
    this.started++;
    let lastError: unknown = null;
    w.on("message", (batch: FromWorker[]) => {
      for (const m of batch) this.dispatch(m);
    });
    w.on("error", (err) => {
      lastError = err;
    });
    w.on("exit", (code) => this.detach(w, lastError instanceof Error ? `stopped (exit code ${code}): ${lastError.message}` : `stopped (exit code ${code})`));
    if (this.calls.size === 0) w.unref();
    return w;
  }

  /** The worker is gone: everything in flight fails as a network error, the next request starts another. */
  private detach(w: Worker, detail: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    const err = workerGone(detail);
    for (const call of [...this.calls.values()]) this.fail(call, err, false);
  }

  private track(call: Call): void {
    this.calls.set(call.id, call);
    if (this.calls.size === 1) this.worker?.ref();
  }

  private untrack(call: Call): void {
    if (!this.calls.delete(call.id)) return;
    if (call.onAbort) call.signal?.removeEventListener("abort", call.onAbort);
    call.onAbort = null;
    if (this.calls.size === 0) this.worker?.unref();
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  // ---------------------------------------------------------------------------- messages

  private dispatch(m: FromWorker): void {
    if (m.t === "closed") {
      this.onClosed?.();
      return;
    }
    const call = this.calls.get(m.id);
    if (!call) return; // cancelled or aborted meanwhile
    switch (m.t) {
      case "head": {
        call.headed = true;
        const resolve = call.resolve;
        // the settled promise holds the response: the call must not hold the promise (see Handle)
        call.resolve = call.reject = settled;
        resolve(this.response(call, m.status, new Headers(m.headers)));
        return;
      }
      case "data":
        call.queue.push(m.chunk);
        call.queuedBytes += m.chunk.byteLength;
        if (m.end) this.end(call);
        break;
      case "end":
        this.end(call);
        break;
      case "error":
        this.fail(call, revive(m.error), false);
        return;
    }
    this.wake(call);
  }

  private end(call: Call): void {
    call.ended = true;
    this.untrack(call);
  }

  private wake(call: Call): void {
    const w = call.wake;
    call.wake = null;
    w?.();
  }

  /** The request or its body failed (or was aborted: then the worker is told to stop). */
  private fail(call: Call, err: unknown, tellWorker: boolean): void {
    if (!this.calls.has(call.id)) return;
    this.untrack(call);
    if (tellWorker) this.send({ t: "cancel", id: call.id });
    if (!call.headed) {
      const reject = call.reject;
      call.resolve = call.reject = settled;
      reject(err);
      return;
    }
    call.ended = true;
    call.error = err;
    if (tellWorker) {
      // aborted: stop at once; otherwise what arrived before the failure is still read first
      call.queue = [];
      call.queuedBytes = 0;
    }
    this.wake(call);
  }

  /** cancel(), a consumer leaving the loop early, or a response collected unread. */
  private cancel(call: Call): void {
    if (this.calls.has(call.id)) {
      this.untrack(call);
      this.send({ t: "cancel", id: call.id });
    }
    call.ended = true;
    call.queue = [];
    call.queuedBytes = 0;
    this.wake(call);
  }

  // ---------------------------------------------------------------------------- the response

  private response(call: Call, status: number, headers: Headers): UpstreamResponse {
    const handle: Handle = { call };
    this.unread.register(handle, call, handle);
    const body: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => this.read(handle) };
    return streamedResponse(status, headers, body, () => {
      this.unread.unregister(handle);
      this.cancel(handle.call);
    });
  }

  private async *read(handle: Handle): AsyncGenerator<Uint8Array> {
    const call = handle.call;
    try {
      for (;;) {
        const chunk = call.queue.shift();
        if (chunk) {
          call.queuedBytes -= chunk.byteLength;
          call.unacked += chunk.byteLength;
          if (call.unacked >= this.ackBytes && this.calls.has(call.id)) {
            this.send({ t: "ack", id: call.id, bytes: call.unacked });
            call.unacked = 0;
          }
          yield chunk;
          continue;
        }
        if (call.error) throw call.error;
        if (call.ended) return;
        await new Promise<void>((r) => (call.wake = r));
      }
    } finally {
      this.unread.unregister(handle);
      if (!call.ended) this.cancel(call); // the consumer left early
    }
  }
}

let shared: ImpitWorkerHost | null = null;

/** The process's impit worker host (its worker starts on the first request). */
export function impitWorkerHost(): ImpitWorkerHost {
  return (shared ??= new ImpitWorkerHost());
}

/** Server stop: fails what the process's impit worker has in flight and releases its connections (see close()). */
export async function stopImpitWorker(): Promise<void> {
  await shared?.close();
}
