import { appendFile, mkdir, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { ActivityBucket, ActivityData, RequestAttemptStep, RequestLogEntry } from "../../shared/admin-api.js";
import { redactUrl } from "../log.js";

/**
 * Recent client requests for the manager's Logs page: a bounded in-memory ring (newest kept),
 * per-10-minute request/error counters for the last 24 h (independent of the ring's size), live
 * subscribers (the SSE stream), and optionally a JSONL file in the data folder, rotated by size
 * and pruned by age. Nothing here ever holds a full account cookie (accounts arrive masked) and
 * prompt text is kept only while `request_log_prompts` is on. Per process: servers sharing a
 * MySQL/Redis pool each keep their own.
 */
export interface RequestLogOptions {
  /** Ring capacity (0 keeps nothing, counters still run). */
  capacity: () => number;
  retentionHours: () => number;
  includePrompts: () => boolean;
  /** Also append each entry to `<dir>/requests.jsonl` while this says so. */
  fileEnabled?: () => boolean;
  dir?: string;
  /** Rotate the file past this size (default 5 MiB) keeping this many old files (default 3). */
  maxFileBytes?: number;
  keepFiles?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

export interface TurnInfo {
  model: string | null;
  servedModel: string | null;
  stream: boolean;
  /** Called only when prompts are kept (the flattened prompt can be large). */
  prompt?: () => string;
}

/** One request in flight; `end` files it (later calls are ignored). */
export interface RequestTrace {
  turn(info: TurnInfo): void;
  /** An error sent in-band after the stream began. */
  inBand(err: { code: string; message: string }): void;
  end(status: number, err?: { code: string; message: string } | null): void;
}

/** What the request path sees of the log (runner/turn-runner.ts). */
export interface RequestLogHook {
  begin(requestId: string, info: { protocol: string; path: string }): RequestTrace;
}

/** What the pipeline tells it (runner/pipeline.ts): one step per account tried. */
export type AttemptObserver = (requestId: string, step: RequestAttemptStep) => void;

export const BUCKET_MS = 10 * 60 * 1000;
const ACTIVITY_MS = 24 * 60 * 60 * 1000;
const MAX_PROMPT_CHARS = 4000;
const MAX_MESSAGE_CHARS = 500;
const FILE = "requests.jsonl";

/** How far the ring may run over its capacity before it is trimmed back. */
const slack = (cap: number) => Math.max(16, cap >> 3);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

export class RequestLog implements RequestLogHook {
  /** Oldest first; may hold up to `slack(cap)` entries more than the capacity (trimmed in batches), which nothing reads: see `kept`. */
  private ring: RequestLogEntry[] = [];
  private readonly open = new Map<string, { entry: RequestLogEntry; ended: boolean }>();
  private readonly listeners = new Set<(e: RequestLogEntry) => void>();
  private readonly counters = new Map<number, ActivityBucket>();
  private lastOkAt: number | null = null;
  private lastFailure: ActivityData["last_failure"] = null;
  private readonly now: () => number;
  private writes: Promise<void> = Promise.resolve();
  private fileBytes: number | null = null;

  constructor(private readonly opts: RequestLogOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The file currently written, or null when file logging is off. */
  get filePath(): string | null {
    return this.opts.dir && this.opts.fileEnabled?.() ? path.join(this.opts.dir, FILE) : null;
  }

  begin(requestId: string, info: { protocol: string; path: string }): RequestTrace {
    const entry: RequestLogEntry = { id: requestId, time: this.now(), protocol: info.protocol, path: info.path, model: null, served_model: null, stream: false, account: null, status: 0, duration_ms: 0, attempts: [], error: null };
    const slot = { entry, ended: false };
    this.open.set(requestId, slot);
    return {
      turn: (t) => {
        entry.model = t.model;
        entry.served_model = t.servedModel;
        entry.stream = t.stream;
        if (t.prompt && this.opts.includePrompts()) entry.prompt = clip(t.prompt(), MAX_PROMPT_CHARS);
      },
      inBand: (err) => {
        entry.error = { code: err.code, message: clip(redactUrl(err.message), MAX_MESSAGE_CHARS) };
      },
      end: (status, err) => {
        if (slot.ended) return;
        slot.ended = true;
        this.open.delete(requestId);
        entry.status = status;
        entry.duration_ms = Math.max(0, this.now() - entry.time);
        if (err) entry.error = { code: err.code, message: clip(redactUrl(err.message), MAX_MESSAGE_CHARS) };
        this.file(entry);
      },
    };
  }

  /** The pipeline's hook: steps of requests in flight; unknown ids (not traced) are ignored. */
  readonly attempt: AttemptObserver = (requestId, step) => {
    const slot = this.open.get(requestId);
    const at = this.now();
    if (step.outcome === "ok") this.lastOkAt = at;
    else if (step.outcome !== "aborted") this.lastFailure = { at, kind: step.outcome, message: clip(redactUrl(step.message ?? ""), MAX_MESSAGE_CHARS) };
    if (!slot) return;
    slot.entry.attempts.push({ account: step.account, outcome: step.outcome, message: step.message === null ? null : clip(redactUrl(step.message), MAX_MESSAGE_CHARS) });
    slot.entry.account = step.account;
  };

  /** The pipeline's queue hook: a request waited for a free account (granted, timeout, full…). */
  readonly queue = (requestId: string, info: { outcome: string; waitedMs: number }): void => {
    const slot = this.open.get(requestId);
    if (slot) slot.entry.queue = { outcome: info.outcome, waited_ms: Math.round(info.waitedMs) };
  };

  private file(entry: RequestLogEntry): void {
    const failed = entry.status >= 400 || entry.error !== null;
    const start = Math.floor(entry.time / BUCKET_MS) * BUCKET_MS;
    const b = this.counters.get(start) ?? { start, requests: 0, errors: 0 };
    b.requests++;
    if (failed) b.errors++;
    this.counters.set(start, b);
    if (this.counters.size > ACTIVITY_MS / BUCKET_MS + 2) for (const k of this.counters.keys()) if (k < this.now() - ACTIVITY_MS) this.counters.delete(k);

    const cap = Math.max(0, Math.floor(this.opts.capacity()));
    if (cap > 0) {
      this.ring.push(entry);
      // trimmed in batches: one splice per `slack` requests instead of moving the whole ring each time
      if (this.ring.length > cap + slack(cap)) this.ring.splice(0, this.ring.length - cap);
    } else if (this.ring.length) this.ring = [];
    this.prune();
    for (const fn of this.listeners) {
      try {
        fn(entry);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    const file = this.filePath;
    if (file) this.enqueue(() => this.append(file, entry));
  }

  private prune(): void {
    const oldest = this.now() - this.opts.retentionHours() * 3_600_000;
    let drop = 0;
    while (drop < this.ring.length && this.ring[drop]!.time < oldest) drop++;
    if (drop) this.ring.splice(0, drop);
  }

  /** Index of the oldest entry within the capacity (the entries before it wait for the next batch trim). */
  private kept(): number {
    return Math.max(0, this.ring.length - Math.max(0, Math.floor(this.opts.capacity())));
  }

  /** Newest first; `before` (an entry's time) pages back, `limit` at most 1 000. */
  list(q: { limit?: number; before?: number } = {}): RequestLogEntry[] {
    this.prune();
    const limit = Math.min(1000, Math.max(1, q.limit ?? 200));
    const out: RequestLogEntry[] = [];
    const first = this.kept();
    for (let i = this.ring.length - 1; i >= first && out.length < limit; i--) {
      const e = this.ring[i]!;
      if (q.before !== undefined && e.time >= q.before) continue;
      out.push(e);
    }
    return out;
  }

  /** Requests and errors per 10 minutes over the last `hours` (≤ 24), oldest first, gaps as zeros. */
  activity(hours = 6): ActivityData {
    const span = Math.min(24, Math.max(1, hours)) * 3_600_000;
    const end = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    const buckets: ActivityBucket[] = [];
    for (let t = end - span + BUCKET_MS; t <= end; t += BUCKET_MS) buckets.push({ ...(this.counters.get(t) ?? { start: t, requests: 0, errors: 0 }) });
    return { bucket_ms: BUCKET_MS, buckets, last_ok_at: this.lastOkAt, last_failure: this.lastFailure };
  }

  subscribe(fn: (e: RequestLogEntry) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Reads back what the file kept from earlier runs (within retention) into the ring and counters. */
  async restore(): Promise<number> {
    const file = this.filePath;
    if (!file) return 0;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return 0;
    }
    const oldest = this.now() - this.opts.retentionHours() * 3_600_000;
    const restored: RequestLogEntry[] = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as RequestLogEntry;
        if (typeof e.time === "number" && e.time >= oldest && typeof e.id === "string") restored.push(e);
      } catch {
        // a torn last line after a crash: skip it
      }
    }
    for (const e of restored) {
      if (e.time >= this.now() - ACTIVITY_MS) {
        const start = Math.floor(e.time / BUCKET_MS) * BUCKET_MS;
        const b = this.counters.get(start) ?? { start, requests: 0, errors: 0 };
        b.requests++;
        if (e.status >= 400 || e.error) b.errors++;
        this.counters.set(start, b);
      }
    }
    const cap = Math.max(0, Math.floor(this.opts.capacity()));
    this.ring = cap ? [...restored, ...this.ring.slice(this.kept())].slice(-cap) : [];
    return restored.length;
  }

  /** Resolves when every queued file write is done (tests, shutdown). */
  flush(): Promise<void> {
    return this.writes;
  }

  private enqueue(fn: () => Promise<void>): void {
    this.writes = this.writes.then(fn).catch((err) => this.opts.onError?.(err));
  }

  private async append(file: string, entry: RequestLogEntry): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const dir = path.dirname(file);
    if (this.fileBytes === null) {
      await mkdir(dir, { recursive: true });
      this.fileBytes = await stat(file).then((s) => s.size, () => 0);
    }
    const max = this.opts.maxFileBytes ?? 5 * 1024 * 1024;
    if (this.fileBytes > 0 && this.fileBytes + line.length > max) await this.rotate(file);
    await appendFile(file, line, { mode: 0o600 });
    this.fileBytes += Buffer.byteLength(line);
  }

  /** requests.jsonl → requests.1.jsonl → … ; files past `keepFiles` or older than retention go. */
  private async rotate(file: string): Promise<void> {
    const keep = Math.max(1, this.opts.keepFiles ?? 3);
    const dir = path.dirname(file);
    const name = (i: number) => path.join(dir, `requests.${i}.jsonl`);
    await unlink(name(keep)).catch(() => {});
    for (let i = keep - 1; i >= 1; i--) await rename(name(i), name(i + 1)).catch(() => {});
    await rename(file, name(1));
    this.fileBytes = 0;
    const oldest = this.now() - this.opts.retentionHours() * 3_600_000;
    for (const f of await readdir(dir)) {
      if (!/^requests\.\d+\.jsonl$/.test(f)) continue;
      const p = path.join(dir, f);
      const s = await stat(p).catch(() => null);
      if (s && s.mtimeMs < oldest) await unlink(p).catch(() => {});
    }
  }
}
