import type { Core } from "./core.js";
import type { AccountRecord } from "./state.js";
import type { HttpFailure } from "./errors.js";
import { failures } from "./errors.js";
import { decodeBase64, UUID_V4_RE } from "./util.js";

export type CheckResult = { failure: HttpFailure; reason: string } | undefined;

export interface RequestView {
  headers: Record<string, string>;
  cookies: Record<string, string>;
}

/** requireCfClearance: cf_clearance present and bound to the UA first seen with it. */
export function checkCloudflare(core: Core, r: RequestView): CheckResult {
  if (!core.state.options.requireCfClearance) return undefined;
  const value = r.cookies["cf_clearance"];
  const ua = r.headers["user-agent"] ?? "";
  if (!value) return { failure: failures.cloudflare(), reason: "cf_clearance cookie missing" };
  const bound = core.state.cfClearance.get(value);
  if (bound === undefined) {
    core.state.cfClearance.set(value, ua);
    return undefined;
  }
  if (bound !== ua) return { failure: failures.cloudflare(), reason: "cf_clearance bound to another User-Agent" };
  return undefined;
}

export function checkUserAgentPresent(r: RequestView): CheckResult {
  if (!r.headers["user-agent"]) return { failure: failures.antiBot(), reason: "User-Agent missing" };
  return undefined;
}

/** Origin must equal the fake's own origin when required; when present it must match anyway. */
export function checkOrigin(core: Core, r: RequestView, required: boolean): CheckResult {
  const origin = r.headers["origin"];
  if (origin === undefined) return required ? { failure: failures.antiBot(), reason: "Origin header missing" } : undefined;
  if (origin !== core.url) return { failure: failures.antiBot(), reason: `Origin ${origin} is not ${core.url}` };
  return undefined;
}

/** Cookie sso present, equal to sso-rw, a known account in a usable session state. */
export function authenticate(core: Core, r: RequestView): { account: AccountRecord } | { failure: HttpFailure; reason: string; account?: AccountRecord } {
  const sso = r.cookies["sso"];
  const ssoRw = r.cookies["sso-rw"];
  if (!sso) return { failure: failures.unauthenticated("No credentials presented"), reason: "sso cookie missing" };
  if (ssoRw === undefined) return { failure: failures.unauthenticated(), reason: "sso-rw cookie missing" };
  if (sso !== ssoRw) return { failure: failures.unauthenticated(), reason: "sso and sso-rw differ" };
  const account = core.state.accounts.get(sso);
  if (!account) return { failure: failures.unauthenticated(), reason: "unknown sso" };
  switch (account.session) {
    case "blocked":
      return { failure: failures.blocked(), reason: "account is blocked", account };
    case "unauthenticated":
    case "http401":
      return { failure: failures.unauthenticated(), reason: `account session is ${account.session}`, account };
    default:
      return { account };
  }
}

/** strictUserAgent: every call of one account carries the same UA. */
export function checkStrictUserAgent(core: Core, r: RequestView, account: AccountRecord): CheckResult {
  if (!core.state.options.strictUserAgent) return undefined;
  const ua = r.headers["user-agent"] ?? "";
  const first = core.state.firstUserAgent.get(account.sso);
  if (first === undefined) {
    core.state.firstUserAgent.set(account.sso, ua);
    return undefined;
  }
  if (first !== ua) return { failure: failures.antiBot(), reason: "User-Agent differs from earlier calls of this account" };
  return undefined;
}

/** x-statsig-id: base64 of exactly 70 bytes, or an "x1:" fallback (option), or "e:" (rejected by default). */
export function checkStatsig(core: Core, r: RequestView): CheckResult {
  const value = r.headers["x-statsig-id"];
  if (!value) return { failure: failures.antiBot(), reason: "x-statsig-id missing" };
  const bytes = decodeBase64(value);
  if (!bytes) return { failure: failures.antiBot(), reason: "x-statsig-id is not base64" };
  if (bytes.length === 70) return undefined;
  const text = bytes.toString("utf8");
  if (text.startsWith("x1:")) {
    return core.state.options.acceptX1 === false ? { failure: failures.antiBot(), reason: "x1: statsig fallback rejected" } : undefined;
  }
  if (text.startsWith("e:")) {
    return core.state.options.rejectE === false ? undefined : { failure: failures.antiBot(), reason: "e: statsig fallback rejected (since Jun 2026)" };
  }
  return { failure: failures.antiBot(), reason: `x-statsig-id decodes to ${bytes.length} bytes, not 70` };
}

/** x-xai-request-id: lower-case UUIDv4 (optionally unique). */
export function checkRequestId(core: Core, r: RequestView): CheckResult {
  const id = r.headers["x-xai-request-id"];
  if (!id) return { failure: failures.invalid("x-xai-request-id header is required"), reason: "x-xai-request-id missing" };
  if (!UUID_V4_RE.test(id)) return { failure: failures.invalid("x-xai-request-id must be a UUID"), reason: `x-xai-request-id ${id} is not a lower-case UUIDv4` };
  if (core.state.options.uniqueRequestIds) {
    if (core.state.seenRequestIds.has(id)) return { failure: failures.invalid("duplicate x-xai-request-id"), reason: `x-xai-request-id ${id} reused` };
    core.state.seenRequestIds.add(id);
  }
  return undefined;
}

export function isJsonContentType(ct: string | undefined, allowTextPlain = false): boolean {
  if (!ct) return false;
  const base = ct.split(";")[0]!.trim().toLowerCase();
  return base === "application/json" || (allowTextPlain && base === "text/plain");
}
