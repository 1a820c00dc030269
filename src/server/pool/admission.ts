/**
 * Admission: what a request does when every account that could serve it is at its concurrency
 * cap. Instead of a 429 at once it waits in a FIFO queue of its own kind (minimum tier + quota
 * bucket: the requests any freed slot serves alike) until a slot frees, up to `timeoutMs` and a
 * total depth cap; then a NoAccountError "queue_timeout" / "queue_full" with a retry hint.
 * Anything else the pool answers (no accounts, dead, cooling, quota exhausted) is never queued:
 * nothing frees up soon, so the caller hears it at once.
 *
 * Wake-ups: the pool calls `wake()` whenever capacity may have appeared in this process (a lease
 * settled, the cap or the accounts changed). Slots freed by another process sharing the store are
 * found by polling while anybody waits: the first poll after `pollMinMs`, doubling up to
 * `pollMaxMs` while nothing is granted (bounded: one lease attempt per queue per poll).
 *
 * A waiter whose AbortSignal fires leaves its queue at once (rejects with the signal's reason).
 * Timers come from the injected `timers` (tests drive them with a fake clock).
 */
import type { Lease, LeaseRequest } from "./api.js";
import { NoAccountError } from "./no-account-error.js";

export interface AdmissionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: AdmissionTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface AdmitOptions {
  signal?: AbortSignal;
  /** How long the request may wait for a slot (ms). ≤ 0: no queue, the busy error at once. */
  timeoutMs: number;
  /** Total requests waiting at most (all queues). ≤ 0: no queue. */
  maxDepth: number;
  /** Told once the request left the queue (granted, timed out, aborted…); not called when it never queued. */
  onQueued?: (info: QueueOutcome) => void;
}

export type QueueOutcomeKind = "granted" | "timeout" | "full" | "aborted" | "failed";
export interface QueueOutcome {
  outcome: QueueOutcomeKind;
  waitedMs: number;
  /** Requests waiting ahead of this one when it joined (all queues). */
  depthAtJoin: number;
}

export interface AdmissionQueueStats {
  tier: string;
  bucket: string;
  depth: number;
  oldestWaitMs: number;
}

export interface AdmissionStats {
  /** Requests waiting now (all queues). */
  depth: number;
  /** Most requests waiting at once since start. */
  peakDepth: number;
  queues: AdmissionQueueStats[];
  totals: {
    /** Served at once without waiting. */
    immediate: number;
    queued: number;
    granted: number;
    timedOut: number;
    aborted: number;
    rejectedFull: number;
    /** Left the queue with another pool error (e.g. the accounts went dead or out of quota meanwhile). */
    failed: number;
  };
  /** Wait of the last (up to) WAIT_SAMPLES requests that queued and were granted, ms. */
  waitMs: { samples: number; p50: number | null; p95: number | null; max: number | null; mean: number | null };
  /** Typical time a lease held its slot (EWMA, ms): the base of the retry hint. */
  typicalHoldMs: number | null;
}

export interface AdmissionHost {
  /** One immediate lease attempt (AccountPool.lease). */
  tryLease(req: LeaseRequest): Promise<Lease>;
  now(): number;
}

export interface AdmissionOptions {
  timers?: AdmissionTimers;
  pollMinMs?: number;
  pollMaxMs?: number;
}

interface Waiter {
  seq: number;
  key: string;
  req: LeaseRequest;
  /** No exclude set: every such waiter of a queue is served by the same accounts. */
  plain: boolean;
  joinedAt: number;
  depthAtJoin: number;
  settled: boolean;
  resolve(lease: Lease): void;
  reject(err: unknown): void;
  timer: unknown;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
  onQueued: AdmitOptions["onQueued"];
  lastError: NoAccountError;
}

const WAIT_SAMPLES = 1024;
/** Lease attempts per queue and pump beyond the first plain waiter (waiters with exclude sets). */
const MAX_TRIES_PER_QUEUE = 8;

export const isBusy = (err: unknown): err is NoAccountError => err instanceof NoAccountError && err.reason === "busy";

export class Admission {
  private readonly host: AdmissionHost;
  private readonly timers: AdmissionTimers;
  private readonly pollMinMs: number;
  private readonly pollMaxMs: number;
  private readonly queues = new Map<string, Waiter[]>();
  private depthNow = 0;
  private seq = 0;
  private pumping = false;
  private again = false;
  private pollTimer: unknown = null;
  private pollDelay: number;
  private closed = false;
  /** Bumped by wake(): tells admit() that capacity may have appeared while its attempt ran. */
  private wakes = 0;
  private holdEwma: number | null = null;
  private readonly waits = new Float64Array(WAIT_SAMPLES);
  private waitCount = 0;
  private peak = 0;
  private readonly totals = { immediate: 0, queued: 0, granted: 0, timedOut: 0, aborted: 0, rejectedFull: 0, failed: 0 };

  constructor(host: AdmissionHost, opts: AdmissionOptions = {}) {
    this.host = host;
    this.timers = opts.timers ?? systemTimers;
    this.pollMinMs = opts.pollMinMs ?? 25;
    this.pollMaxMs = Math.max(this.pollMinMs, opts.pollMaxMs ?? 250);
    this.pollDelay = this.pollMinMs;
  }

  get depth(): number {
    return this.depthNow;
  }

  /** A lease now, or once a slot frees (see the module comment). */
  async admit(req: LeaseRequest, opts: AdmitOptions): Promise<Lease> {
    const signal = opts.signal;
    if (signal?.aborted) throw signal.reason ?? new Error("aborted");
    const queueing = opts.timeoutMs > 0 && opts.maxDepth > 0 && !this.closed;
    const key = `${req.minTier}|${req.bucket}`;
    const ahead = this.queues.get(key);
    let busy: NoAccountError;
    if (!queueing || ahead === undefined || ahead.length === 0) {
      const wakesBefore = this.wakes;
      try {
        const lease = await this.host.tryLease(req);
        this.totals.immediate++;
        return lease;
      } catch (err) {
        if (!isBusy(err) || !queueing || this.closed) throw err;
        busy = err;
      }
      if (signal?.aborted) throw signal.reason ?? new Error("aborted");
      if (this.wakes !== wakesBefore) this.again = true; // a slot may have freed during the attempt
    } else {
      // others of this kind wait already: join behind them (FIFO), the pump tries the head first
      busy = ahead[0]!.lastError;
    }
    if (this.depthNow >= opts.maxDepth) {
      this.totals.rejectedFull++;
      opts.onQueued?.({ outcome: "full", waitedMs: 0, depthAtJoin: this.depthNow });
      throw this.queueError("queue_full", req, busy, `All eligible accounts are busy and ${this.depthNow} requests are already waiting (queue_max_depth ${opts.maxDepth}).`);
    }
    return this.enqueue(key, req, opts, busy);
  }

  private enqueue(key: string, req: LeaseRequest, opts: AdmitOptions, busy: NoAccountError): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
      const w: Waiter = {
        seq: ++this.seq,
        key,
        req,
        plain: req.exclude === undefined || req.exclude.size === 0,
        joinedAt: this.host.now(),
        depthAtJoin: this.depthNow,
        settled: false,
        resolve,
        reject,
        timer: null,
        signal: opts.signal,
        onAbort: null,
        onQueued: opts.onQueued,
        lastError: busy,
      };
      let q = this.queues.get(key);
      if (q === undefined) this.queues.set(key, (q = []));
      q.push(w);
      this.depthNow++;
      this.totals.queued++;
      if (this.depthNow > this.peak) this.peak = this.depthNow;
      w.timer = this.timers.setTimeout(() => this.timeOut(w, opts.timeoutMs), opts.timeoutMs);
      if (w.signal) {
        w.onAbort = () => this.leave(w, "aborted", w.signal!.reason ?? new Error("aborted"));
        w.signal.addEventListener("abort", w.onAbort, { once: true });
      }
      if (this.again) {
        this.again = false;
        void this.pump();
      } else this.schedulePoll();
    });
  }

  private timeOut(w: Waiter, timeoutMs: number): void {
    w.timer = null;
    if (w.settled) return;
    const s = Math.round(timeoutMs / 100) / 10;
    this.leave(w, "timeout", this.queueError("queue_timeout", w.req, w.lastError, `All eligible accounts stayed busy for the ${s} s a request may wait (queue_timeout); ${this.depthNow - 1} other requests are waiting.`));
  }

  /** Takes the waiter out of its queue and settles it with an error. */
  private leave(w: Waiter, outcome: Exclude<QueueOutcomeKind, "granted">, err: unknown): void {
    if (w.settled) return;
    this.unlink(w);
    this.totals[outcome === "timeout" ? "timedOut" : outcome === "aborted" ? "aborted" : outcome === "full" ? "rejectedFull" : "failed"]++;
    this.report(w, outcome);
    w.reject(err);
  }

  private grant(w: Waiter, lease: Lease): void {
    this.unlink(w);
    this.totals.granted++;
    const waited = this.host.now() - w.joinedAt;
    this.waits[this.waitCount % WAIT_SAMPLES] = waited;
    this.waitCount++;
    this.report(w, "granted");
    w.resolve(lease);
  }

  private report(w: Waiter, outcome: QueueOutcomeKind): void {
    try {
      w.onQueued?.({ outcome, waitedMs: this.host.now() - w.joinedAt, depthAtJoin: w.depthAtJoin });
    } catch {
      // an observer must not break admission
    }
  }

  private unlink(w: Waiter): void {
    w.settled = true;
    if (w.timer !== null) this.timers.clearTimeout(w.timer);
    w.timer = null;
    if (w.onAbort) w.signal!.removeEventListener("abort", w.onAbort);
    w.onAbort = null;
    const q = this.queues.get(w.key);
    if (q !== undefined) {
      const i = q.indexOf(w);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.queues.delete(w.key);
    }
    this.depthNow--;
    if (this.depthNow === 0 && this.pollTimer !== null) {
      this.timers.clearTimeout(this.pollTimer);
      this.pollTimer = null;
      this.pollDelay = this.pollMinMs;
    }
  }

  /** Capacity may have appeared (a lease settled, settings or accounts changed). Cheap when nobody waits. */
  wake(): void {
    this.wakes++;
    if (this.depthNow === 0) return;
    this.pollDelay = this.pollMinMs;
    void this.pump();
  }

  /** A lease held its slot this long (feeds the retry hint). */
  noteHold(ms: number): void {
    if (!(ms >= 0)) return;
    this.holdEwma = this.holdEwma === null ? ms : this.holdEwma * 0.9 + ms * 0.1;
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    let granted = false;
    try {
      do {
        this.again = false;
        const heads = [...this.queues.values()].filter((q) => q.length > 0).sort((a, b) => a[0]!.seq - b[0]!.seq);
        for (const q of heads) if (await this.serve(q)) granted = true;
      } while (this.again && this.depthNow > 0);
    } finally {
      this.pumping = false;
    }
    if (granted) this.pollDelay = this.pollMinMs;
    this.schedulePoll();
  }

  /** Serves one queue from its head while leases are given; true when any was. */
  private async serve(q: Waiter[]): Promise<boolean> {
    let granted = false;
    let plainBusy = false;
    let tries = 0;
    for (const w of q.slice()) {
      if (w.settled) continue;
      if (w.plain && plainBusy) continue;
      if (tries >= MAX_TRIES_PER_QUEUE) break;
      tries++;
      let lease: Lease;
      try {
        lease = await this.host.tryLease(w.req);
      } catch (err) {
        if (isBusy(err)) {
          w.lastError = err;
          if (w.plain) plainBusy = true;
          continue;
        }
        this.leave(w, "failed", err); // nothing frees soon any more (dead, cooling, quota): say so now
        continue;
      }
      if (w.settled) {
        void lease.release(); // it left while the lease was taken
        continue;
      }
      this.grant(w, lease);
      granted = true;
      tries = 0;
    }
    return granted;
  }

  private schedulePoll(): void {
    if (this.pollTimer !== null || this.depthNow === 0 || this.closed) return;
    const delay = this.pollDelay;
    this.pollDelay = Math.min(this.pollMaxMs, this.pollDelay * 2);
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      void this.pump();
    }, delay);
  }

  private queueError(reason: "queue_timeout" | "queue_full", req: LeaseRequest, busy: NoAccountError, message: string): NoAccountError {
    const retry = this.retryHintMs(busy);
    return new NoAccountError(reason, message, this.host.now() + retry, retry, { bucket: req.bucket, minTier: req.minTier, ...(busy.counts ? { counts: busy.counts } : {}) });
  }

  /**
   * When trying again is worth it: the typical hold of a slot times how many rounds of the busy
   * accounts' slots the requests waiting now need (at least 1 s, at most 60 s).
   */
  private retryHintMs(busy: NoAccountError): number {
    const hold = this.holdEwma ?? 1000;
    const slots = Math.max(1, busy.counts?.busy ?? 1);
    const rounds = Math.max(1, Math.ceil((this.depthNow + 1) / slots));
    return Math.round(Math.min(60_000, Math.max(1000, hold * rounds)));
  }

  stats(): AdmissionStats {
    const now = this.host.now();
    const queues: AdmissionQueueStats[] = [];
    for (const [key, q] of this.queues) {
      if (q.length === 0) continue;
      const [tier, bucket] = key.split("|") as [string, string];
      queues.push({ tier, bucket, depth: q.length, oldestWaitMs: now - q[0]!.joinedAt });
    }
    const n = Math.min(this.waitCount, WAIT_SAMPLES);
    const sorted = Array.from(this.waits.subarray(0, n)).sort((a, b) => a - b);
    const at = (p: number) => (n === 0 ? null : sorted[Math.min(n - 1, Math.floor(p * n))]!);
    return {
      depth: this.depthNow,
      peakDepth: this.peak,
      queues,
      totals: { ...this.totals },
      waitMs: { samples: n, p50: at(0.5), p95: at(0.95), max: n ? sorted[n - 1]! : null, mean: n ? Math.round(sorted.reduce((a, b) => a + b, 0) / n) : null },
      typicalHoldMs: this.holdEwma === null ? null : Math.round(this.holdEwma),
    };
  }

  /** Refuses new waits and ends every wait with a busy error (shutdown). */
  close(): void {
    this.closed = true;
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    for (const q of [...this.queues.values()]) {
      for (const w of q.slice()) this.leave(w, "failed", new NoAccountError("busy", "The server is shutting down.", null, 1000, { bucket: w.req.bucket, minTier: w.req.minTier }));
    }
  }
}
