import type { GrokSettings } from "../config/settings-schema.js";
import type { Clock } from "../core/account.js";
import { EVENTS_DONE, type GrokEvent, isOutputEvent } from "../core/events.js";
import type { UpstreamFailure } from "../core/failure.js";
import type { AttemptNote } from "../errors.js";
import { classifyTransportError, failure } from "../grok/classify.js";
import { UpstreamError } from "../grok/upstream-error.js";
import { type Logger, mask } from "../log.js";
import { type AccountPool, type Lease, type LeaseRequest, NoAccountError, type QueueOutcome } from "../pool/index.js";
import { finalError, noAccountError, timeoutFailure, upstreamRequestError } from "./failure-status.js";

/**
 * One request through pool → grok → events, with failover.
 *
 * - Attempts: up to `max_attempts` accounts within the total deadline. An attempt is committed
 *   when its first output event (text, reasoning, tool, sources, image…) arrives; before that any
 *   failure (HTTP error, in-stream error, timeout, dropped connection, empty answer) releases the
 *   account with its failure kind and the next account is leased. Request-scoped failures
 *   (moderation, bad argument) are returned at once.
 * - After the commit, failures become an in-band `error` event for the protocol adapter.
 * - Timeouts: first output (stream_first_response_timeout), idle between output events
 *   (stream_chunk_timeout), total (stream_total_timeout).
 * - The client's abort signal cancels the upstream call at once; the lease is always released.
 */
export interface UpstreamJob {
  /** What the job needs from an account: bucket, cost, lowest tier; `label` names it in errors (the model id). */
  need: Pick<LeaseRequest, "bucket" | "cost" | "minTier"> & { label: string };
  /** The upstream call made with the leased account: chat, image, video or speech, as events. */
  call: (account: { token: string; userId: string | null }, signal: AbortSignal) => AsyncIterable<GrokEvent>;
  /**
   * True when the caller shows nothing before the whole answer is in (non-stream requests):
   * the attempt then commits only at the end, so a failure mid-answer still fails over.
   */
  buffered?: boolean;
  /** This job's whole deadline instead of `stream_total_timeout` (video generations run for minutes). */
  totalTimeoutMs?: number;
  requestId: string;
  signal: AbortSignal;
}

export interface PipelineDeps {
  pool: AccountPool;
  settings: () => GrokSettings;
  log: Logger;
  /** Deadlines are computed from this clock (tests inject one). */
  clock?: Clock;
  /** Told each account tried and how it went (the manager's request log); never changes the outcome. */
  onAttempt?: (requestId: string, step: { account: string; outcome: string; message: string | null }) => void;
  /** Told when a request waited for a free account slot (queue_timeout) and how that ended; never changes the outcome. */
  onQueue?: (requestId: string, info: QueueOutcome) => void;
}

type TimeoutWhich = "first" | "idle" | "total";

class TimeoutSignal extends Error {
  constructor(readonly which: TimeoutWhich) {
    super(which);
  }
}


export class Pipeline {
  private readonly clock: Clock;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? { now: () => Date.now() };
  }

  /**
   * The events of the job: attempt after attempt until one finishes (see the top of this file).
   * An iterator object rather than an async generator around `attempt`: every open stream holds
   * one, and a second suspended generator per stream cost ~0.7 KiB.
   */
  run(turn: UpstreamJob): AsyncGenerator<GrokEvent> {
    return new PipelineRun(this, turn);
  }

  /** @internal (PipelineRun) */
  admitFor(turn: UpstreamJob, tried: readonly string[], deadline: number): Promise<Lease> {
    const s = this.deps.settings();
    // every eligible account at its cap: wait for a slot (FIFO) up to queue_timeout, within the deadline
    const onQueue = this.deps.onQueue;
    return this.deps.pool.admit(
      { bucket: turn.need.bucket, cost: turn.need.cost, minTier: turn.need.minTier, ...(tried.length ? { exclude: new Set(tried) } : {}), requestId: turn.requestId },
      {
        signal: turn.signal,
        timeoutMs: Math.min(s.queue_timeout * 1000, deadline - this.clock.now()),
        maxDepth: s.queue_max_depth,
        ...(onQueue ? { onQueued: (info: QueueOutcome) => onQueue(turn.requestId, info) } : {}),
      },
    );
  }

  /** @internal (PipelineRun) */
  attemptWith(turn: UpstreamJob, lease: Lease, deadline: number): AsyncGenerator<GrokEvent, "done" | UpstreamFailure> {
    return this.attempt(turn, lease, deadline);
  }

  /** @internal (PipelineRun) */
  get now(): number {
    return this.clock.now();
  }

  /** @internal (PipelineRun) */
  get settings(): GrokSettings {
    return this.deps.settings();
  }

  /** @internal (PipelineRun) */
  get log(): Logger {
    return this.deps.log;
  }

  /** One account. Returns "done" when the turn finished (successfully or after a committed failure), or the pre-commit failure. */
  private async *attempt(turn: UpstreamJob, lease: Lease, deadline: number): AsyncGenerator<GrokEvent, "done" | UpstreamFailure> {
    const s = this.deps.settings();
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort(turn.signal.reason);
    turn.signal.addEventListener("abort", onAbort, { once: true });
    const upstream = turn.call({ token: lease.token, userId: lease.account.userId }, ctrl.signal)[Symbol.asyncIterator]();
    const watchdog = new Watchdog(upstream, this.clock);
    const pending: GrokEvent[] = []; // held until the attempt commits
    let committed = false;
    let failed: UpstreamFailure | undefined;
    try {
      const attemptStart = this.clock.now();
      let flowing = false; // an output event arrived in this attempt
      for (;;) {
        // idle = time spent waiting for grok.com (a slow client does not count); first = since the attempt began
        const limit = Math.min(deadline, flowing ? this.clock.now() + s.stream_chunk_timeout * 1000 : attemptStart + s.stream_first_response_timeout * 1000);
        watchdog.setDeadline(limit, limit === deadline ? "total" : flowing ? "idle" : "first");
        let step: IteratorResult<GrokEvent>;
        try {
          step = await watchdog.next();
        } catch (err) {
          if (turn.signal.aborted) return "done";
          failed = err instanceof TimeoutSignal ? timeoutFailure(err.which, s) : err instanceof UpstreamError ? err.failure : classifyTransportError(err);
          ctrl.abort(failed.message);
          break;
        }
        if (step.done) {
          if (turn.signal.aborted) return "done";
          failed = failure("network", "grok.com stream ended unexpectedly"); // ended without done/error
          break;
        }
        const e = step.value;
        if (e.type === "error") {
          if (turn.signal.aborted) return "done"; // the client left: whatever the call reports now is not the account's fault
          if (!committed && e.error.kind === "request") {
            await lease.fail(e.error.kind, e.error.message);
            failed = e.error;
            throw upstreamRequestError(e.error); // the request's own fault: no other account would do better
          }
          failed = e.error;
          break;
        }
        if (e.type === "done") {
          if (!committed && !pending.some(isOutputEvent)) {
            failed = failure("empty", "grok.com returned an empty answer (no text, reasoning or media)");
            break;
          }
          await lease.succeed();
          yield* pending;
          yield e;
          return "done";
        }
        if (!committed) {
          if (!isOutputEvent(e) || turn.buffered) {
            if (isOutputEvent(e)) flowing = true;
            pending.push(e);
            continue;
          }
          committed = true;
          flowing = true;
          yield* pending;
          pending.length = 0;
        }
        yield e;
      }
      await lease.fail(failed.kind, failed.message, { ...(failed.retryAfterMs !== null ? { retryAfterMs: failed.retryAfterMs } : {}), ...(failed.resetAt !== null ? { resetAt: failed.resetAt } : {}) });
      if (!committed) return failed;
      yield { type: "error", error: failed }; // output already reached the client: report in-band
      return "done";
    } finally {
      watchdog.stop();
      // also when the consumer stopped reading (after the answer, or at a stop sequence): that is "ok"
      this.deps.onAttempt?.(turn.requestId, { account: mask(lease.token), outcome: turn.signal.aborted ? "aborted" : failed ? failed.kind : "ok", message: failed?.message ?? null });
      turn.signal.removeEventListener("abort", onAbort);
      if (!ctrl.signal.aborted) ctrl.abort("attempt finished");
      void upstream.return?.(undefined)?.catch(() => {});
      await lease.release();
    }
  }
}


/**
 * One job through the pipeline: up to `max_attempts` accounts within the total deadline; the
 * current attempt's events are passed on; a pre-commit failure is noted and the next account
 * leased; when nothing is left, the final error (failure-status.ts).
 */
class PipelineRun implements AsyncGenerator<GrokEvent> {
  private readonly started: number;
  private readonly deadline: number;
  private readonly maxAttempts: number;
  private attemptNo = 0;
  private readonly attempts: AttemptNote[] = [];
  private readonly tried: string[] = []; // accounts leased so far
  private lastFailure: UpstreamFailure | null = null;
  private current: AsyncGenerator<GrokEvent, "done" | UpstreamFailure> | null = null;
  private lease: Lease | null = null;
  private over = false;

  constructor(
    private readonly p: Pipeline,
    private readonly turn: UpstreamJob,
  ) {
    const s = p.settings;
    this.started = p.now;
    this.deadline = this.started + (turn.totalTimeoutMs ?? s.stream_total_timeout * 1000);
    this.maxAttempts = s.max_attempts;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<GrokEvent>> {
    if (this.over) return Promise.resolve(EVENTS_DONE);
    if (!this.current) return this.nextAttempt();
    return this.current.next().then(
      (r) => (r.done ? this.attemptEnded(r.value) : r),
      (err: unknown) => this.fail(err),
    );
  }

  return(): Promise<IteratorResult<GrokEvent>> {
    this.over = true;
    const c = this.current;
    this.current = null;
    return c ? c.return("done").then(() => EVENTS_DONE, () => EVENTS_DONE) : Promise.resolve(EVENTS_DONE);
  }

  throw(err: unknown): Promise<IteratorResult<GrokEvent>> {
    return this.return().then(() => Promise.reject(err));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private fail(err: unknown): never {
    this.over = true;
    this.current = null;
    throw err;
  }

  /** The next account, or the end: the final error when attempts failed, nothing when the client left. */
  private async nextAttempt(): Promise<IteratorResult<GrokEvent>> {
    const turn = this.turn;
    try {
      if (turn.signal.aborted || this.attemptNo >= this.maxAttempts || this.p.now >= this.deadline) return this.finish();
      this.attemptNo++;
      let lease: Lease;
      try {
        lease = await this.p.admitFor(turn, this.tried, this.deadline);
      } catch (err) {
        if (turn.signal.aborted) return this.finish(); // the client left while waiting for a slot
        if (err instanceof NoAccountError) {
          if (this.attempts.length === 0) throw noAccountError(err, turn.need);
          return this.finish(); // nothing left to try: report the attempts
        }
        throw err;
      }
      if (this.over) {
        await lease.release(); // stopped while the lease was on its way
        return EVENTS_DONE;
      }
      this.tried.push(lease.token);
      this.lease = lease;
      this.current = this.p.attemptWith(turn, lease, this.deadline);
    } catch (err) {
      this.fail(err);
    }
    return this.next();
  }

  private attemptEnded(outcome: "done" | UpstreamFailure): Promise<IteratorResult<GrokEvent>> | IteratorResult<GrokEvent> {
    this.current = null;
    const lease = this.lease!;
    this.lease = null;
    if (outcome === "done") {
      this.over = true;
      return EVENTS_DONE;
    }
    this.attempts.push({ account: mask(lease.token), kind: outcome.kind, message: outcome.message });
    this.lastFailure = outcome;
    this.p.log.warn("attempt failed", { requestId: this.turn.requestId, attempt: this.attemptNo, account: mask(lease.token), kind: outcome.kind, message: outcome.message });
    if (outcome.kind === "request") return this.finish();
    return this.nextAttempt();
  }

  /** No more attempts: nothing if the client left, else the error that sums them up. */
  private finish(): IteratorResult<GrokEvent> {
    this.over = true;
    if (this.turn.signal.aborted) return EVENTS_DONE;
    throw finalError(this.lastFailure, this.attempts, this.p.now >= this.deadline);
  }
}

/**
 * One timer per attempt instead of one per event: `next()` races the upstream iterator against
 * a deadline that callers move with `setDeadline()`; the timer is re-armed lazily only when it
 * fires early (hot path: a number assignment per event).
 */
class Watchdog<T> {
  private deadline = 0;
  private which: TimeoutWhich = "first";
  private timer: NodeJS.Timeout | null = null;
  /** The pending next(): settled by the upstream's answer or the deadline, whichever comes first. */
  private resolve: ((v: IteratorResult<T>) => void) | null = null;
  private reject: ((err: unknown) => void) | null = null;
  private readonly onValue = (v: IteratorResult<T>) => {
    const resolve = this.resolve;
    this.resolve = this.reject = null;
    resolve?.(v);
  };
  private readonly onError = (e: unknown) => {
    const reject = this.reject;
    this.resolve = this.reject = null;
    reject?.(e);
  };

  constructor(
    private readonly it: AsyncIterator<T>,
    private readonly clock: Clock,
  ) {}

  setDeadline(at: number, which: TimeoutWhich): void {
    this.deadline = at;
    this.which = which;
  }

  next(): Promise<IteratorResult<T>> {
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (!this.timer) this.arm();
      this.it.next().then(this.onValue, this.onError); // (no closures per event)
    });
  }

  private arm(): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.deadline - this.clock.now()));
  }

  private fire(): void {
    this.timer = null;
    if (this.clock.now() < this.deadline) return this.arm(); // moved since: wait for the rest
    const reject = this.reject;
    this.resolve = this.reject = null; // the upstream's late answer is dropped
    reject?.(new TimeoutSignal(this.which));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

