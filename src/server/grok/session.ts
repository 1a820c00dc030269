import { classifyHttp, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, send } from "./context.js";
import { sessionHeaders } from "./identity.js";
import { UpstreamError } from "./upstream-error.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `GET /api/auth/session` (grok-protocol.md §2.2): the account's user id (lower-cased UUID), which
 * the gateway needs in its URL and cookies. Stores it on `acc` and reports it through `onUserId`;
 * a blocked or logged-out session is a `banned` / `unauthorized` failure.
 */
export async function resolveUserId(ctx: GrokContext, acc: GrokAccountRef, signal?: AbortSignal): Promise<string> {
  const id = ctx.identity();
  const res = await send(ctx, "/api/auth/session", { method: "GET", headers: sessionHeaders(id, acc.token), signal });
  const text = await res.text();
  if (res.status !== 200) throw new UpstreamError(classifyHttp(res.status, text, res.headers));
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UpstreamError(failure("upstream_error", "session lookup returned no JSON", { status: res.status }));
  }
  if (body.status === "blocked") throw new UpstreamError(failure("banned", "account banned (session status blocked)"));
  if (body.status === "unauthenticated") throw new UpstreamError(failure("unauthorized", "SSO cookie logged out or expired (session unauthenticated)"));
  const o = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});
  const candidates = [o(body.session).userId, o(body.user).id, o(body.user).userId, o(body.user).sub, body.id, body.userId, body.sub];
  const found = candidates.find((c) => typeof c === "string" && UUID_RE.test(c)) as string | undefined;
  if (!found) throw new UpstreamError(failure("upstream_error", "session lookup returned no user id"));
  const userId = found.toLowerCase();
  ctx.onUserId?.(acc.token, userId);
  acc.userId = userId;
  return userId;
}
