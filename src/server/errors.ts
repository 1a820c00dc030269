import type { FailureKind } from "./core/account.js";
import { redactUrl } from "./log.js";

/** Stable error codes. Each protocol adapter maps them onto its own wire shape. */
export type ErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "missing_field"
  | "invalid_value"
  | "unsupported"
  | "invalid_api_key"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "model_not_found"
  | "payload_too_large"
  | "unsupported_media_type"
  | "server_busy"
  | "no_account"
  | "rate_limited"
  | "upstream_unauthorized"
  | "upstream_banned"
  | "anti_bot_rejected"
  | "cloudflare_blocked"
  | "content_moderated"
  | "upstream_error"
  | "upstream_timeout"
  | "upstream_unavailable"
  | "empty_response"
  | "internal_error";

export interface AttemptNote {
  account: string; // masked
  kind: FailureKind;
  message: string;
}

/**
 * The one error model. `status` is the HTTP status to answer with; `param` names the offending
 * request field; `retryAfterMs` becomes Retry-After; `retryable:false` adds x-should-retry:false.
 */
export class ProxyError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly expose: boolean;
  readonly retryAfterMs: number | null;
  readonly retryable: boolean | null;
  readonly attempts: AttemptNote[];
  readonly kind: FailureKind | null;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    opts: { param?: string | null; cause?: unknown; expose?: boolean; retryAfterMs?: number | null; retryable?: boolean | null; attempts?: AttemptNote[]; kind?: FailureKind | null } = {},
  ) {
    // Messages reach clients and logs: never with a URL's user and password (a proxy_url, say).
    super(redactUrl(message), opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = "ProxyError";
    this.status = status;
    this.code = code;
    this.param = opts.param ?? null;
    this.expose = opts.expose ?? true;
    this.retryAfterMs = opts.retryAfterMs ?? null;
    this.retryable = opts.retryable ?? null;
    this.attempts = (opts.attempts ?? []).map((a) => ({ ...a, message: redactUrl(a.message) }));
    this.kind = opts.kind ?? null;
  }
}

export const badRequest = (message: string, param: string | null = null, code: ErrorCode = "invalid_value") =>
  new ProxyError(400, code, message, { param });

export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProxyError(500, "internal_error", `Internal error: ${message}`, { cause: err, expose: false });
}
