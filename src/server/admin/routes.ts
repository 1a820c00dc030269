import Router from "@koa/router";
import type { Context, Next } from "koa";
import type { SettingsService } from "../config/settings.js";
import { ProxyError } from "../errors.js";
import { normalizeToken as normalizeSso } from "../core/token.js";
import type { AccountPool, AccountView } from "../pool/index.js";
import type { Tier } from "../core/account.js";
import type { Store, StorageMode } from "../store/types.js";
import { exportJson, exportLegacyTokenJson, importJson } from "../store/legacy.js";
import { LOGIN_LIMIT, MAX_BODY, readJson, readPlainText } from "../api/middleware.js";
import { splitKeys } from "../config/env.js";
import { JsonDepthError, MAX_JSON_DEPTH, parseJsonLimited } from "../core/json.js";
import type { Logger } from "../log.js";
import type { AdminAuth } from "./auth.js";
import { clearSessionCookie, sessionToken, setSessionCookie } from "./session-cookie.js";
import type { LoginResponse, TokenInfo, TokenListResponse } from "../../shared/admin-api.js";

/**
 * Admin API with the original Grok2API's routes and JSON shapes (`success`, `data`, `token_type`
 * "sso"/"ssoSuper", Chinese status labels its page shows), plus added fields.
 */
export interface AdminDeps {
  auth: AdminAuth;
  pool: AccountPool;
  settings: SettingsService;
  store: Pick<Store, "getSettings" | "saveSettings">;
  storageMode: StorageMode;
  /** Tests the given account against grok.com (session + quota); resolves to the refreshed view. */
  testAccount: (token: string) => Promise<{ ok: boolean; message: string; kind: string | null; view: AccountView | undefined }>;
  envApiKeys: string[] | null;
  /** The full health report (GET /api/health). */
  health?: () => unknown;
  /** True when the server listens beyond loopback (a key is then needed unless trusted_network). */
  beyondLoopback?: boolean;
  log?: Logger;
}

/** Token lists for add/delete may be long (thousands of cookies). */
const TOKEN_LIST_LIMIT = 16 * 1024 * 1024;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

export function bearer(ctx: Context): string | null {
  const a = ctx.get("authorization");
  return /^bearer\s+/i.test(a) ? a.replace(/^bearer\s+/i, "").trim() : null;
}

export const tokenType = (tier: Tier) => (tier === "basic" ? "sso" : "ssoSuper");

/** The original page's labels: 失效 dead, 限流中 rate-limited, 未使用 unused, 正常 normal (+ 已禁用 disabled). */
export function legacyStatus(v: AccountView): string {
  if (v.effectiveStatus === "dead") return "失效";
  if (v.effectiveStatus === "disabled") return "已禁用";
  if (v.effectiveStatus === "cooling" || !v.usable) return "限流中";
  if (v.useCount === 0 && Object.keys(v.quota).length === 0) return "未使用";
  return "正常";
}

export function tokenInfo(v: AccountView): TokenInfo {
  return {
    token: v.token,
    token_type: tokenType(v.tier),
    created_time: v.createdAt,
    remaining_queries: v.quota.fast?.remaining ?? -1,
    heavy_remaining_queries: v.quota.heavy?.remaining ?? -1,
    status: legacyStatus(v),
    tags: v.tags,
    note: v.note,
    // added fields
    tier: v.tier,
    tier_source: v.tierSource,
    state: v.effectiveStatus,
    usable: v.usable,
    status_reason: v.statusReason,
    status_at: v.statusAt,
    cooldown_until: v.cooldownUntil,
    quota: v.quota,
    in_flight: v.inFlight,
    last_used: v.lastUsedAt,
    use_count: v.useCount,
    fail_count: v.failCount,
  };
}

function stringList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new ProxyError(400, "invalid_value", `${field} must be an array of strings`, { param: field });
  return v as string[];
}

function tierFromType(v: unknown): Tier {
  if (v === undefined || v === null || v === "sso") return "basic";
  if (v === "ssoSuper") return "super";
  throw new ProxyError(400, "invalid_value", 'token_type must be "sso" or "ssoSuper"', { param: "token_type" });
}

/** Requests waiting for a free account slot (queue_timeout / queue_max_depth) and how long they waited. */
export function queueStats(pool: Pick<AccountPool, "admissionStats">) {
  const a = pool.admissionStats();
  return {
    depth: a.depth,
    peak_depth: a.peakDepth,
    queues: a.queues.map((q) => ({ tier: q.tier, bucket: q.bucket, depth: q.depth, oldest_wait_ms: q.oldestWaitMs })),
    served_at_once: a.totals.immediate,
    queued: a.totals.queued,
    granted: a.totals.granted,
    timed_out: a.totals.timedOut,
    aborted: a.totals.aborted,
    rejected_full: a.totals.rejectedFull,
    failed: a.totals.failed,
    wait_ms: a.waitMs,
    typical_hold_ms: a.typicalHoldMs,
  };
}

export function adminRouter(deps: AdminDeps): Router {
  const r = new Router({ prefix: "/api" });

  r.post("/login", async (ctx) => {
    const body = await readJson(ctx, LOGIN_LIMIT);
    if (!isObj(body) || typeof body.username !== "string" || typeof body.password !== "string")
      throw new ProxyError(400, "missing_field", "username and password are required", { param: "username" });
    const result = await deps.auth.login(body.username, body.password, ctx.ip);
    if (!result.ok && result.retryAfterMs !== null)
      throw new ProxyError(429, "rate_limited", `Too many failed logins; try again in ${Math.ceil(result.retryAfterMs / 1000)} s.`, { retryAfterMs: result.retryAfterMs });
    if (!result.ok) {
      ctx.status = 401;
      ctx.body = { success: false, message: "Invalid username or password" } satisfies LoginResponse;
      return;
    }
    setSessionCookie(ctx, result.token); // the manager's session (HttpOnly, SameSite=Strict, Path=/api)
    ctx.body = { success: true, token: result.token, message: "Login successful" } satisfies LoginResponse;
  });

  const requireSession = async (ctx: Context, next: Next) => {
    if (!(await deps.auth.verify(sessionToken(ctx)))) throw new ProxyError(401, "unauthorized", "Admin session missing or expired; POST /api/login first.", { retryable: false });
    await next();
  };
  r.use(async (ctx, next) => (ctx.path === "/api/login" ? next() : requireSession(ctx, next)));

  r.post("/logout", async (ctx) => {
    const ok = await deps.auth.logout(sessionToken(ctx) ?? "");
    clearSessionCookie(ctx);
    ctx.body = { success: ok, message: ok ? "Logged out" : "Invalid session" };
  });

  r.get("/tokens", (ctx) => {
    const data = deps.pool.list().map(tokenInfo);
    ctx.body = { success: true, data, total: data.length } satisfies TokenListResponse;
  });

  r.post("/tokens/add", async (ctx) => {
    const body = await readJson(ctx, TOKEN_LIST_LIMIT);
    if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Expected a JSON object");
    const tier = tierFromType(body.token_type);
    const tokens = [...new Set(stringList(body.tokens, "tokens").map(normalizeSso).filter(Boolean))];
    if (!tokens.length) throw new ProxyError(400, "invalid_value", "tokens is empty", { param: "tokens" });
    const { added, existing } = await deps.pool.add(tokens, { tier, tierSource: "imported" });
    ctx.body = { success: true, message: `Added ${added.length} token(s)${existing.length ? `, ${existing.length} already present` : ""}`, count: added.length, added: added.length, existing: existing.length };
  });

  r.post("/tokens/delete", async (ctx) => {
    const body = await readJson(ctx, TOKEN_LIST_LIMIT);
    if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Expected a JSON object");
    const tokens = stringList(body.tokens, "tokens").map(normalizeSso);
    const count = await deps.pool.remove(tokens);
    ctx.body = { success: true, message: `Deleted ${count} token(s)`, count };
  });

  const account = (token: unknown) => {
    if (typeof token !== "string" || !token) throw new ProxyError(400, "missing_field", "token is required", { param: "token" });
    const t = normalizeSso(token);
    if (!deps.pool.get(t)) throw new ProxyError(404, "not_found", "Unknown token", { param: "token" });
    return t;
  };

  r.post("/tokens/tags", async (ctx) => {
    const body = (await readJson(ctx)) as Obj;
    const token = account(body?.token);
    const tags = [...new Set(stringList(body.tags, "tags").map((t) => t.trim()).filter(Boolean))];
    await deps.pool.update(token, { tags });
    ctx.body = { success: true, message: "Tags updated", tags };
  });

  r.post("/tokens/note", async (ctx) => {
    const body = (await readJson(ctx)) as Obj;
    const token = account(body?.token);
    if (typeof body.note !== "string") throw new ProxyError(400, "invalid_value", "note must be a string", { param: "note" });
    await deps.pool.update(token, { note: body.note });
    ctx.body = { success: true, message: "Note updated", note: body.note };
  });

  r.get("/tokens/tags/all", (ctx) => {
    const tags = new Set<string>();
    for (const v of deps.pool.list()) for (const t of v.tags) tags.add(t);
    ctx.body = { success: true, data: [...tags].sort() };
  });

  r.post("/tokens/test", async (ctx) => {
    const body = (await readJson(ctx)) as Obj;
    const token = account(body?.token);
    const result = await deps.testAccount(token);
    const fast = result.view?.quota.fast;
    ctx.body = result.ok
      ? { success: true, message: "Token is valid", data: { valid: true, remaining_queries: fast?.remaining ?? -1, limit: fast?.total ?? -1, tier: result.view?.tier } }
      : {
          success: false,
          message: result.message,
          data: {
            valid: false,
            error_type: result.kind === "unauthorized" || result.kind === "banned" ? "expired" : result.kind === "rate_limited" ? "limited" : "blocked",
            error_code: result.kind === "unauthorized" ? 401 : result.kind === "rate_limited" ? 429 : 403,
            kind: result.kind,
          },
        };
  });

  r.get("/tokens/detail", (ctx) => {
    const token = account(ctx.query.token);
    const v = deps.pool.get(token)!;
    ctx.body = { success: true, data: { ...tokenInfo(v), user_id: v.userId, failures: v.failures } };
  });

  r.post("/tokens/update", async (ctx) => {
    const body = (await readJson(ctx)) as Obj;
    const token = account(body?.token);
    const patch: { tier?: Tier | "auto"; disabled?: boolean } = {};
    if (body.tier !== undefined) {
      if (!["basic", "super", "heavy", "auto"].includes(String(body.tier))) throw new ProxyError(400, "invalid_value", 'tier must be basic, super, heavy or auto', { param: "tier" });
      patch.tier = body.tier as Tier | "auto";
    }
    if (body.disabled !== undefined) {
      if (typeof body.disabled !== "boolean") throw new ProxyError(400, "invalid_value", "disabled must be a boolean", { param: "disabled" });
      patch.disabled = body.disabled;
    }
    const v = await deps.pool.update(token, patch);
    ctx.body = { success: true, message: "Account updated", data: tokenInfo(v) };
  });

  r.post("/tokens/test/bulk", async (ctx) => {
    const body = (await readJson(ctx).catch(() => ({}))) as Obj;
    const tokens = body?.tokens === undefined ? deps.pool.list().map((v) => v.token) : stringList(body.tokens, "tokens").map(normalizeSso);
    const results: Obj[] = [];
    let next = 0;
    const worker = async () => {
      while (next < tokens.length) {
        const token = tokens[next++]!;
        const r = deps.pool.get(token) ? await deps.testAccount(token) : { ok: false, message: "Unknown token", kind: null, view: undefined };
        results.push({ token, valid: r.ok, message: r.message, kind: r.kind, state: r.view?.effectiveStatus ?? null });
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, tokens.length) }, worker));
    const valid = results.filter((x) => x.valid).length;
    ctx.body = { success: true, message: `${valid} of ${results.length} valid`, data: { total: results.length, valid, invalid: results.length - valid, results } };
  });

  r.get("/tokens/export", async (ctx) => {
    const records = deps.pool.list().map(({ inFlight: _i, effectiveStatus: _e, usable: _u, ...rec }) => rec);
    const format = String(ctx.query.format ?? "json");
    const stamp = new Date().toISOString().slice(0, 10);
    if (format === "legacy") {
      ctx.body = exportLegacyTokenJson(records);
      ctx.attachment(`token-${stamp}.json`);
    } else if (format === "txt") {
      ctx.type = "text/plain";
      ctx.body = records.map((r) => r.token).join("\n") + "\n";
      ctx.attachment(`sso-${stamp}.txt`);
    } else if (format === "json") {
      const withSettings = ctx.query.settings !== "0";
      ctx.body = exportJson(records, withSettings ? await deps.store.getSettings() : {});
      ctx.attachment(`grok2api-export-${stamp}.json`);
    } else throw new ProxyError(400, "invalid_value", "format must be json, legacy or txt", { param: "format" });
  });

  r.post("/tokens/import", async (ctx) => {
    const raw = await readPlainText(ctx, MAX_BODY);
    let result;
    try {
      // A JSON document is depth-checked first: the importers walk it recursively.
      if (/^\s*[[{]/.test(raw)) parseJsonLimited(raw, MAX_JSON_DEPTH);
    } catch (err) {
      if (err instanceof JsonDepthError) throw new ProxyError(400, "invalid_value", `Import nests deeper than ${err.maxDepth} levels${err.path ? ` at ${err.path}` : ""}`, { param: err.path || "body" });
      // not JSON: importJson says what is wrong with it (or reads it as a token list)
    }
    try {
      result = importJson(raw);
    } catch (err) {
      throw new ProxyError(400, "invalid_value", (err as Error).message, { param: "body" });
    }
    const overwrite = ctx.query.overwrite === "1" || ctx.query.overwrite === "true";
    const { added, replaced, existing } = await deps.pool.importRecords(result.accounts, { overwrite });
    let settingsImported = false;
    if (result.settings && Object.keys(result.settings).length && (ctx.query.settings === "1" || ctx.query.settings === "true")) {
      const { global, grok } = result.settings;
      await deps.settings.update({ ...(global ? { global } : {}), ...(grok ? { grok } : {}) });
      settingsImported = true;
    }
    ctx.body = {
      success: true,
      message: `Imported ${added.length} new account(s)${replaced.length ? `, replaced ${replaced.length}` : ""}${existing.length ? `, ${existing.length} already present` : ""}`,
      data: { format: result.format, added: added.length, replaced: replaced.length, existing: existing.length, settings_imported: settingsImported },
    };
  });

  r.get("/settings", (ctx) => {
    const s = deps.settings.value;
    ctx.body = {
      success: true,
      data: {
        global: { ...s.global, admin_password: "" },
        grok: { ...s.grok, api_key: deps.envApiKeys ? deps.envApiKeys.join(",") : s.grok.api_key, api_key_from_env: !!deps.envApiKeys },
      },
    };
  });

  r.post("/settings", async (ctx) => {
    const body = await readJson(ctx);
    if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Expected a JSON object");
    const global = (body.global_config ?? body.global) as Obj | undefined;
    const grok = (body.grok_config ?? body.grok) as Obj | undefined;
    if (global !== undefined && !isObj(global)) throw new ProxyError(400, "invalid_value", "global_config must be an object", { param: "global_config" });
    if (grok !== undefined && !isObj(grok)) throw new ProxyError(400, "invalid_value", "grok_config must be an object", { param: "grok_config" });
    const g = global ? { ...global } : undefined;
    const newPassword = g && typeof g.admin_password === "string" && g.admin_password ? g.admin_password : null;
    if (newPassword !== null && newPassword.length < 8) throw new ProxyError(400, "invalid_value", "admin_password must have at least 8 characters", { param: "global_config.admin_password" });
    if (g) delete g.admin_password;
    const k = grok ? { ...grok } : undefined;
    if (k) delete k.api_key_from_env;
    if (deps.beyondLoopback && !deps.envApiKeys) {
      // Listening on the network: the key may not be removed unless the network is declared trusted.
      const cur = deps.settings.value.grok;
      const key = k && "api_key" in k ? String(k.api_key ?? "") : cur.api_key;
      const trusted = k && "trusted_network" in k ? k.trusted_network === true || k.trusted_network === "true" : cur.trusted_network;
      if (!splitKeys(key).length && !trusted)
        throw new ProxyError(400, "invalid_value", "This server listens on the network: grok.api_key may not be empty unless grok.trusted_network is true.", { param: "grok_config.api_key" });
    }
    await deps.settings.update({ ...(g ? { global: g } : {}), ...(k ? { grok: k } : {}) });
    if (newPassword !== null) {
      await deps.auth.setPassword(newPassword); // ends every session, this one included
      deps.log?.info("admin password changed; all sessions ended");
    }
    ctx.body = { success: true, message: newPassword !== null ? "Settings updated; the admin password changed, sign in again" : "Settings updated" };
  });

  r.get("/stats", (ctx) => {
    const views = deps.pool.list();
    const legacy = (tier: "normal" | "super") => {
      const list = views.filter((v) => (tier === "normal" ? v.tier === "basic" : v.tier !== "basic"));
      return {
        total: list.length,
        unused: list.filter((v) => legacyStatus(v) === "未使用").length,
        limited: list.filter((v) => legacyStatus(v) === "限流中").length,
        expired: list.filter((v) => legacyStatus(v) === "失效").length,
        active: list.filter((v) => legacyStatus(v) === "正常").length,
      };
    };
    const st = deps.pool.stats();
    ctx.body = {
      success: true,
      data: {
        normal: legacy("normal"),
        super: legacy("super"),
        total: views.length,
        usable: st.usable,
        cooling: st.cooling,
        dead: st.dead,
        disabled: st.disabled,
        in_flight: st.inFlight,
        next_reset_at: st.nextResetAt,
        by_tier: st.byTier,
        queue: queueStats(deps.pool),
      },
    };
  });

  r.get("/health", (ctx) => {
    ctx.body = deps.health ? deps.health() : { status: "ok" };
  });

  r.get("/storage/mode", (ctx) => {
    ctx.body = { success: true, data: { mode: deps.storageMode.toUpperCase() } };
  });

  return r;
}
