/**
 * The impit worker thread (started by impit-worker-host.ts): runs impit's requests and reads the
 * response bodies here, so impit's one-callback-per-native-read cost stays off the main thread.
 * Body chunks are joined and posted in batches — at most one postMessage per `flushMs` window for
 * all streams together, at once for a stream's first chunk, its end, or when `flushBytes` are
 * waiting — with their ArrayBuffers transferred. A stream stops being read while more than
 * `highWaterBytes` are posted but not acknowledged by the main side and resumes at `lowWaterBytes`.
 *
 * Runs as written in a source checkout (Node's type stripping: erasable syntax only, no imports
 * of project modules at run time), compiled in dist/, and bundled as CommonJS in the desktop app.
 */
import { createRequire } from "node:module";
import v8 from "node:v8";
import vm from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import type { Browser, Impit, ImpitResponse } from "impit";
import type { FromWorker, ImpitWorkerData, ToWorker, WireError } from "./impit-worker-protocol.js";

if (!parentPort) throw new Error("impit-worker.ts runs only as a worker thread (see impit-worker-host.ts)");
const port = parentPort;
const config = workerData as ImpitWorkerData;
const impit = createRequire(config.impitPath)(config.impitPath) as typeof import("impit");

interface Stream {
  id: number;
  ac: AbortController;
  res: ImpitResponse | null;
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
  /** Chunks read and not yet posted. */
  pending: Uint8Array[];
  pendingBytes: number;
  /** Bytes posted and not yet acknowledged. */
  unacked: number;
  reading: boolean;
  postedData: boolean;
  /** No more reads: the body ended, failed or was cancelled. */
  done: boolean;
  error: WireError | null;
  cancelled: boolean;
}

const clients = new Map<string, Impit>();
const streams = new Map<number, Stream>();
/** Streams with something to post (data, end or error). */
const dirty = new Set<Stream>();
/** Heads and request failures, posted before the data of the same flush. */
let control: FromWorker[] = [];
let totalPending = 0;
let lastDataFlush = -Infinity;
let timer: ReturnType<typeof setTimeout> | null = null;
let immediate: ReturnType<typeof setImmediate> | null = null;

function client(profile: string, proxyUrl: string | undefined): Impit {
  const key = `${profile}|${proxyUrl ?? ""}`;
  let c = clients.get(key);
  if (!c) {
    // the pipeline owns timeouts; redirects are the caller's
    c = new impit.Impit({ browser: profile as Browser, ...(proxyUrl ? { proxyUrl } : {}), followRedirects: false, timeout: 86_400_000 });
    clients.set(key, c);
  }
  return c;
}

function wireError(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const out: WireError = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (err.stack) out.stack = err.stack;
  if (err.cause !== undefined && depth < 3) out.cause = wireError(err.cause, depth + 1);
  return out;
}

/** Post now (after this turn's other reads) or at the end of the current window. */
function schedule(now: boolean): void {
  if (immediate) return;
  const wait = now ? 0 : lastDataFlush + config.flushMs - performance.now();
  if (wait <= 0) {
    if (timer) clearTimeout(timer);
    timer = null;
    immediate = setImmediate(flush);
  } else timer ??= setTimeout(flush, wait);
}

function flush(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  immediate = null;
  const out = control;
  control = [];
  const transfer: ArrayBuffer[] = [];
  let data = false;
  for (const s of dirty) {
    if (s.pendingBytes > 0) {
      const chunk = join(s.pending, s.pendingBytes);
      s.unacked += s.pendingBytes;
      totalPending -= s.pendingBytes;
      s.pending = [];
      s.pendingBytes = 0;
      s.postedData = true;
      data = true;
      transfer.push(chunk.buffer as ArrayBuffer);
      if (s.done && !s.error) {
        out.push({ t: "data", id: s.id, chunk, end: true });
        continue;
      }
      out.push({ t: "data", id: s.id, chunk });
    }
    if (s.done) out.push(s.error ? { t: "error", id: s.id, error: s.error } : { t: "end", id: s.id });
  }
  for (const s of dirty) if (s.done) streams.delete(s.id);
  dirty.clear();
  if (data) lastDataFlush = performance.now();
  if (out.length) port.postMessage(out, transfer);
}

/** One fresh ArrayBuffer per batch (impit's chunks may sit in memory it owns: copied, never transferred). */
function join(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function finish(s: Stream, error: WireError | null): void {
  if (s.done) return;
  s.done = true;
  s.error = error;
  dirty.add(s);
  schedule(true);
}

async function pump(s: Stream): Promise<void> {
  const reader = s.reader;
  if (s.reading || s.done || !reader) return;
  s.reading = true;
  try {
    while (!s.done && s.unacked + s.pendingBytes < config.highWaterBytes) {
      const r = await reader.read();
      if (s.done) return; // cancelled meanwhile
      if (r.done) {
        finish(s, null);
        return;
      }
      if (!r.value?.byteLength) continue;
      s.pending.push(r.value);
      s.pendingBytes += r.value.byteLength;
      totalPending += r.value.byteLength;
      dirty.add(s);
      schedule(!s.postedData || totalPending >= config.flushBytes);
    }
  } catch (err) {
    finish(s, wireError(err));
  } finally {
    s.reading = false;
  }
}

async function start(m: Extract<ToWorker, { t: "fetch" }>): Promise<void> {
  const s: Stream = { id: m.id, ac: new AbortController(), res: null, reader: null, pending: [], pendingBytes: 0, unacked: 0, reading: false, postedData: false, done: false, error: null, cancelled: false };
  streams.set(m.id, s);
  let res: ImpitResponse;
  try {
    res = await client(m.profile, m.proxyUrl).fetch(m.url, {
      method: m.method as "GET",
      headers: m.headers,
      ...(m.body !== undefined ? { body: m.body } : {}),
      signal: s.ac.signal,
      redirect: "manual",
    });
  } catch (err) {
    streams.delete(m.id);
    if (!s.cancelled) {
      control.push({ t: "error", id: m.id, error: wireError(err) });
      schedule(true);
    }
    return;
  }
  s.res = res;
  if (s.cancelled) {
    release(s);
    return;
  }
  control.push({ t: "head", id: m.id, status: res.status, headers: [...res.headers] });
  if (!res.body) {
    s.done = true;
    control.push({ t: "end", id: m.id });
    streams.delete(m.id);
  } else {
    s.reader = res.body.getReader();
    void pump(s);
  }
  schedule(true);
}

/**
 * Drops the connection of a body being read. impit 0.14.4 closes a connection with a read pending
 * (which this worker nearly always has) only when its native response is garbage-collected, and
 * then only if the request's signal was aborted as well: measured on the contract server, signal +
 * reader + abort() then a GC closed 8 of 8 connections within ~30 ms, the same without a GC about
 * half, the reader alone none. So all three, the references dropped, and a GC of this worker's
 * (small) heap soon after — never the main thread's.
 */
function release(s: Stream): void {
  s.ac.abort();
  s.reader?.cancel().catch(() => {});
  if (!s.reader) s.res?.body?.cancel().catch(() => {});
  try {
    s.res?.abort();
  } catch {
    /* already finished */
  }
  s.reader = null;
  s.res = null;
  collectSoon();
}

let gc: (() => void) | null = null;
let gcTimer: ReturnType<typeof setTimeout> | null = null;
let lastGc = -Infinity;
const GC_DELAY_MS = 10;
const GC_MIN_GAP_MS = 100;

/** One GC for the cancels of a moment (at most one per GC_MIN_GAP_MS). */
function collectSoon(): void {
  if (gcTimer) return;
  const wait = Math.max(GC_DELAY_MS, lastGc + GC_MIN_GAP_MS - performance.now());
  gcTimer = setTimeout(collectNow, wait);
  gcTimer.unref();
}

function collectNow(): void {
  if (gcTimer) clearTimeout(gcTimer);
  gcTimer = null;
  lastGc = performance.now();
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
  }
  gc();
}

/** The host's close(): every body released and impit's leftovers collected, then `closed`. */
function closeAll(): void {
  for (const id of [...streams.keys()]) cancel(id);
  setTimeout(() => {
    collectNow();
    setTimeout(() => port.postMessage([{ t: "closed" }] satisfies FromWorker[]), GC_DELAY_MS);
  }, GC_DELAY_MS);
}

function cancel(id: number): void {
  const s = streams.get(id);
  if (!s) return;
  streams.delete(id);
  dirty.delete(s);
  totalPending -= s.pendingBytes;
  s.pending = [];
  s.pendingBytes = 0;
  s.cancelled = true;
  s.done = true;
  if (s.res) release(s);
  else {
    s.ac.abort(); // the request is still pending: start() releases a response that arrives anyway
    collectSoon();
  }
}

port.on("message", (m: ToWorker) => {
  if (m.t === "fetch") void start(m);
  else if (m.t === "cancel") cancel(m.id);
  else if (m.t === "close") closeAll();
  else if (m.t === "ack") {
    const s = streams.get(m.id);
    if (!s) return;
    s.unacked -= m.bytes;
    if (s.unacked + s.pendingBytes <= config.lowWaterBytes) void pump(s);
  }
});

// A cancelled read or request may reject after its stream is gone; the worker must live on.
process.on("unhandledRejection", () => {});
