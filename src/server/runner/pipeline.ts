import type { GrokSettings } from "../config/settings-schema.js";
import type { Clock } from "../core/account.js";
import { type GrokEvent, isOutputEvent } from "../core/events.js";
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

  async *run(turn: UpstreamJob): AsyncGenerator<GrokEvent> {
    const s = this.deps.settings();
    const started = this.clock.now();
    const deadline = started + (turn.totalTimeoutMs ?? s.stream_total_timeout * 1000);
    const attempts: AttemptNote[] = [];
    const tried = new Set<string>();
    let lastFailure: UpstreamFailure | null = null;

    for (let attempt = 1; attempt <= s.max_attempts; attempt++) {
      if (turn.signal.aborted) return;
      if (this.clock.now() >= deadline) break;
      let lease: Lease;
      try {
        // every eligible account at its cap: wait for a slot (FIFO) up to queue_timeout, within the deadline
        const onQueue = this.deps.onQueue;
        lease = await this.deps.pool.admit(
          { bucket: turn.need.bucket, cost: turn.need.cost, minTier: turn.need.minTier, exclude: tried, requestId: turn.requestId },
          {
            signal: turn.signal,
            timeoutMs: Math.min(s.queue_timeout * 1000, deadline - this.clock.now()),
            maxDepth: s.queue_max_depth,
            ...(onQueue ? { onQueued: (info: QueueOutcome) => onQueue(turn.requestId, info) } : {}),
          },
        );
      } catch (err) {
        if (turn.signal.aborted) return; // the client left while waiting for a slot
        if (err instanceof NoAccountError) {
          if (attempts.length === 0) throw noAccountError(err, turn.need);
          break; // nothing left to try: report the attempts below
        }
        throw err;
      }
      tried.add(lease.token);
      const outcome = yield* this.attempt(turn, lease, deadline);
      if (outcome === "done") return;
      attempts.push({ account: mask(lease.token), kind: outcome.kind, message: outcome.message });
      lastFailure = outcome;
      this.deps.log.warn("attempt failed", { requestId: turn.requestId, attempt, account: mask(lease.token), kind: outcome.kind, message: outcome.message });
      if (outcome.kind === "request") break;
    }
    if (turn.signal.aborted) return;
    throw finalError(lastFailure, attempts, this.clock.now() >= deadline);
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
 * One timer per attempt instead of one per event: `next()` races the upstream iterator against
 * a deadline that callers move with `setDeadline()`; the timer is re-armed lazily only when it
 * fires early (hot path: a number assignment per event).
 */
class Watchdog<T> {
  private deadline = 0;
  private which: TimeoutWhich = "first";
  private timer: NodeJS.Timeout | null = null;
  private reject: ((err: unknown) => void) | null = null;

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
      this.reject = reject;
      if (!this.timer) this.arm();
      this.it.next().then(
        (v) => {
          this.reject = null;
          resolve(v);
        },
        (e) => {
          this.reject = null;
          reject(e);
        },
      );
    });
  }

  private arm(): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.deadline - this.clock.now()));
  }

  private fire(): void {
    this.timer = null;
    if (this.clock.now() < this.deadline) return this.arm(); // moved since: wait for the rest
    const reject = this.reject;
    this.reject = null;
    reject?.(new TimeoutSignal(this.which));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

