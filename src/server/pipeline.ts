import type { GrokSettings } from "./config/settings-schema.js";
import { type AttemptNote, ProxyError } from "./errors.js";
import type { GrokChatRequest } from "./grok/chat-request.js";
import type { GrokClient } from "./grok/client.js";
import { classifyTransportError, failure } from "./grok/classify.js";
import { type GrokEvent, type UpstreamFailure, isOutputEvent } from "./core/events.js";
import type { ModelEntry } from "./grok/models.js";
import { UpstreamError } from "./grok/upstream-error.js";
import type { UploadFile } from "./media/fetch-image.js";
import { type Logger, mask } from "./log.js";
import { type AccountPool, type Lease, NoAccountError } from "./pool/index.js";

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
export interface ChatTurn {
  model: ModelEntry;
  request: GrokChatRequest;
  /** Files uploaded with the leased account before the chat (same account, UA and egress). */
  files?: UploadFile[];
  /**
   * True when the caller shows nothing before the whole answer is in (non-stream requests):
   * the attempt then commits only at the end, so a failure mid-answer still fails over.
   */
  buffered?: boolean;
  requestId: string;
  signal: AbortSignal;
}

export interface PipelineDeps {
  pool: AccountPool;
  grok: GrokClient;
  settings: () => GrokSettings;
  log: Logger;
}

class TimeoutSignal extends Error {
  constructor(readonly which: "first" | "idle" | "total") {
    super(which);
  }
}


export class ChatPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async *run(turn: ChatTurn): AsyncGenerator<GrokEvent> {
    const s = this.deps.settings();
    const started = Date.now();
    const deadline = started + s.stream_total_timeout * 1000;
    const attempts: AttemptNote[] = [];
    const tried = new Set<string>();
    let lastFailure: UpstreamFailure | null = null;

    for (let attempt = 1; attempt <= s.max_attempts; attempt++) {
      if (turn.signal.aborted) return;
      if (Date.now() >= deadline) break;
      let lease: Lease;
      try {
        lease = await this.deps.pool.lease({ bucket: turn.model.bucket, cost: turn.model.cost, minTier: turn.model.minTier, exclude: tried, requestId: turn.requestId });
      } catch (err) {
        if (err instanceof NoAccountError) {
          if (attempts.length === 0) throw noAccountError(err, turn.model);
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
    throw finalError(lastFailure, attempts, Date.now() >= deadline);
  }

  /** One account. Returns "done" when the turn finished (successfully or after a committed failure), or the pre-commit failure. */
  private async *attempt(turn: ChatTurn, lease: Lease, deadline: number): AsyncGenerator<GrokEvent, "done" | UpstreamFailure> {
    const s = this.deps.settings();
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort(turn.signal.reason);
    turn.signal.addEventListener("abort", onAbort, { once: true });
    const upstream = uploadThenChat(this.deps.grok, turn, { token: lease.token, userId: lease.account.userId }, ctrl.signal);
    const watchdog = new Watchdog(upstream);
    const pending: GrokEvent[] = []; // held until the attempt commits
    let committed = false;
    let failed: UpstreamFailure;
    try {
      const attemptStart = Date.now();
      let flowing = false; // an output event arrived in this attempt
      for (;;) {
        // idle = time spent waiting for grok.com (a slow client does not count); first = since the attempt began
        const limit = Math.min(deadline, flowing ? Date.now() + s.stream_chunk_timeout * 1000 : attemptStart + s.stream_first_response_timeout * 1000);
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
          if (!committed && e.error.kind === "request") {
            await lease.fail(e.error.kind, e.error.message);
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
      turn.signal.removeEventListener("abort", onAbort);
      if (!ctrl.signal.aborted) ctrl.abort("attempt finished");
      void upstream.return(undefined).catch(() => {});
      await lease.release();
    }
  }
}

/** Uploads the turn's files with this account, then chats with their ids attached. */
async function* uploadThenChat(grok: GrokClient, turn: ChatTurn, acc: { token: string; userId: string | null }, signal: AbortSignal): AsyncGenerator<GrokEvent> {
  const fileIds: string[] = [];
  for (const f of turn.files ?? []) fileIds.push(await grok.upload(acc, f, signal));
  const request = fileIds.length ? { ...turn.request, fileIds: [...turn.request.fileIds, ...fileIds] } : turn.request;
  yield* grok.chat(request, acc, signal, turn.model.gatewayMode !== null);
}

/**
 * One timer per attempt instead of one per event: `next()` races the upstream iterator against
 * a deadline that callers move with `setDeadline()`; the timer is re-armed lazily only when it
 * fires early (hot path: a number assignment per event).
 */
class Watchdog<T> {
  private deadline = 0;
  private which: TimeoutSignal["which"] = "first";
  private timer: NodeJS.Timeout | null = null;
  private reject: ((err: unknown) => void) | null = null;

  constructor(private readonly it: AsyncIterator<T>) {}

  setDeadline(at: number, which: TimeoutSignal["which"]): void {
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
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.deadline - Date.now()));
  }

  private fire(): void {
    this.timer = null;
    if (Date.now() < this.deadline) return this.arm(); // moved since: wait for the rest
    const reject = this.reject;
    this.reject = null;
    reject?.(new TimeoutSignal(this.which));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

function timeoutFailure(which: TimeoutSignal["which"], s: GrokSettings): UpstreamFailure {
  const text =
    which === "first"
      ? `no answer from grok.com within ${s.stream_first_response_timeout}s (stream_first_response_timeout)`
      : which === "idle"
        ? `grok.com went silent for ${s.stream_chunk_timeout}s (stream_chunk_timeout)`
        : `the request exceeded ${s.stream_total_timeout}s (stream_total_timeout)`;
  return failure("timeout", text);
}

function upstreamRequestError(f: UpstreamFailure): ProxyError {
  const moderated = /moderation/i.test(f.message);
  return new ProxyError(moderated ? 403 : 400, moderated ? "content_moderated" : "invalid_request", f.message, { kind: f.kind, retryable: false });
}

const fmtTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** The pool had nothing to offer before any attempt. */
export function noAccountError(err: NoAccountError, model: ModelEntry): ProxyError {
  const retryAfterMs = err.retryAfterMs ?? (err.nextAvailableAt ? Math.max(1000, err.nextAvailableAt - Date.now()) : null);
  switch (err.reason) {
    case "empty":
      return new ProxyError(503, "no_account", "No grok.com accounts are configured. Add SSO cookies in the manager (/manage) or with POST /api/tokens/add.", { retryable: false });
    case "tier":
      return new ProxyError(403, "forbidden", `Model ${model.id} needs a ${model.minTier} (or higher) grok.com account; none is configured.`, { retryable: false });
    case "all_dead":
      return new ProxyError(403, "upstream_unauthorized", `Every grok.com account that can serve ${model.id} is dead or disabled (cookie expired, logged out or banned). Re-add or test the accounts.`, { retryable: false });
    case "busy":
      return new ProxyError(429, "rate_limited", "All accounts are busy (per-account concurrency limit reached). Retry shortly.", { retryAfterMs: retryAfterMs ?? 1000 });
    default:
      return new ProxyError(
        429,
        "rate_limited",
        err.nextAvailableAt ? `All accounts that can serve ${model.id} are cooling down or out of quota until ${fmtTime(err.nextAvailableAt)}.` : `All accounts that can serve ${model.id} are cooling down or out of quota.`,
        { retryAfterMs: retryAfterMs ?? 60_000 },
      );
  }
}

/** A failure after output began, rendered in-band by the adapters. */
export function inBandError(f: UpstreamFailure): ProxyError {
  const e = finalError(f, [], false);
  return new ProxyError(e.status, e.code, `${e.message} ${f.message}`, { kind: f.kind, retryable: e.retryable, retryAfterMs: e.retryAfterMs });
}

/** Every attempt failed: the error names each account tried and why. */
function finalError(last: UpstreamFailure | null, attempts: AttemptNote[], timedOut: boolean): ProxyError {
  const tried = attempts.map((a) => `${a.account}: ${a.kind} — ${a.message}`).join("; ");
  const suffix = tried ? ` Accounts tried: ${tried}` : "";
  const kind = last?.kind ?? "upstream_error";
  const opts = { attempts, kind };
  if (timedOut && kind !== "timeout") return new ProxyError(504, "upstream_timeout", `The request deadline passed before any account answered.${suffix}`, opts);
  switch (kind) {
    case "rate_limited":
      return new ProxyError(429, "rate_limited", `grok.com rate-limited every account tried.${suffix}`, { ...opts, retryAfterMs: last?.retryAfterMs ?? 60_000 });
    case "unauthorized":
    case "banned":
      return new ProxyError(403, kind === "banned" ? "upstream_banned" : "upstream_unauthorized", `grok.com rejected the account credentials.${suffix}`, { ...opts, retryable: false });
    case "anti_bot":
      return new ProxyError(403, "anti_bot_rejected", `grok.com rejected the request by its anti-bot rules (x-statsig-id, or a user agent / cf_clearance / IP mismatch).${suffix}`, { ...opts, retryable: false });
    case "cloudflare":
      return new ProxyError(403, "cloudflare_blocked", `Cloudflare blocked the request to grok.com. Set cf_clearance and user_agent from the same browser session and IP, or configure proxy_url.${suffix}`, { ...opts, retryable: false });
    case "timeout":
      return new ProxyError(504, "upstream_timeout", `grok.com did not answer in time.${suffix}`, opts);
    case "empty":
      return new ProxyError(502, "empty_response", `grok.com returned empty answers.${suffix}`, opts);
    case "request":
      return upstreamRequestError(last!);
    default:
      return new ProxyError(502, "upstream_error", `grok.com failed.${suffix}`, opts);
  }
}

