import Router from "@koa/router";
import type { Context, Next } from "koa";
import type { ActivityData, RequestLogEntry, RequestLogPage, SettingsIssue, SettingsSchemaData } from "../../shared/admin-api.js";
import { readJson } from "../api/middleware.js";
import { globalSchema, grokSchema, settingsSchema } from "../config/settings-schema.js";
import type { SettingsService } from "../config/settings.js";
import { ProxyError } from "../errors.js";
import type { RequestLog } from "../observe/request-log.js";
import type { AdminAuth } from "./auth.js";
import { sessionToken } from "./session-cookie.js";
import { describeSection } from "./settings-fields.js";

/**
 * Admin routes the manager added (all behind the admin session, Bearer or cookie):
 * - GET  /api/session                 → `data.signed_in` (the page's "am I signed in"; no session needed)
 * - GET  /api/settings/schema         → every field as the zod schema describes it, with defaults
 * - POST /api/settings/validate       → every problem the patch would cause, without saving
 * - GET  /api/logs?limit=&before=     → recent requests, newest first
 * - GET  /api/logs/activity?hours=    → requests and errors per 10 minutes, upstream health
 * - GET  /api/logs/stream             → SSE: `event: entry` per finished request, `event: expired`
 *   when the session ends (checked at every keep-alive)
 */
export interface ManagerRouteDeps {
  auth: AdminAuth;
  settings: SettingsService;
  requestLog: RequestLog;
  /** Keep-alive interval of the log stream (tests shorten it). */
  streamKeepAliveMs?: number;
  maxStreams?: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

export function managerRouter(deps: ManagerRouteDeps): Router {
  const r = new Router({ prefix: "/api" });
  const requireSession = async (ctx: Context, next: Next) => {
    if (!(await deps.auth.verify(sessionToken(ctx)))) throw new ProxyError(401, "unauthorized", "Admin session missing or expired; POST /api/login first.", { retryable: false });
    await next();
  };

  // Answers 200 either way, so a page asking "am I signed in?" logs no failed request.
  r.get("/session", async (ctx) => {
    const signedIn = await deps.auth.verify(sessionToken(ctx));
    ctx.set("cache-control", "no-store");
    ctx.body = { success: true, message: signedIn ? "Signed in" : "Not signed in", data: { signed_in: signedIn } };
  });

  r.get("/settings/schema", requireSession, (ctx) => {
    ctx.body = { success: true, data: { global: describeSection(globalSchema), grok: describeSection(grokSchema) } satisfies SettingsSchemaData };
  });

  r.post("/settings/validate", requireSession, async (ctx) => {
    const body = await readJson(ctx);
    if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Expected a JSON object");
    const g = (body.global_config ?? body.global ?? {}) as unknown;
    const k = (body.grok_config ?? body.grok ?? {}) as unknown;
    const issues: SettingsIssue[] = [];
    if (!isObj(g)) issues.push({ field: "global", message: "must be an object" });
    if (!isObj(k)) issues.push({ field: "grok", message: "must be an object" });
    if (isObj(g) && isObj(k)) {
      const cur = deps.settings.value;
      const { admin_password: pw, ...gRest } = g;
      const { api_key_from_env: _env, ...kRest } = k;
      if (typeof pw === "string" && pw !== "" && pw.length < 8) issues.push({ field: "global.admin_password", message: "must have at least 8 characters" });
      const parsed = settingsSchema.safeParse({ global: { ...cur.global, ...gRest }, grok: { ...cur.grok, ...kRest } });
      if (!parsed.success) for (const i of parsed.error.issues) issues.push({ field: i.path.join("."), message: i.message });
    }
    ctx.body = { success: true, data: { valid: issues.length === 0, issues } };
  });

  r.get("/logs", requireSession, (ctx) => {
    const limit = Number(ctx.query.limit ?? 200);
    const before = ctx.query.before === undefined ? undefined : Number(ctx.query.before);
    const log = deps.requestLog;
    const s = deps.settings.value.global;
    const data: RequestLogPage = {
      entries: log.list({ limit: Number.isFinite(limit) ? limit : 200, ...(before !== undefined && Number.isFinite(before) ? { before } : {}) }),
      capacity: s.request_log_entries,
      retention_hours: s.request_log_retention_hours,
      file: log.filePath ? "requests.jsonl" : null,
      prompts: s.request_log_prompts,
    };
    ctx.set("cache-control", "no-store");
    ctx.body = { success: true, data };
  });

  r.get("/logs/activity", requireSession, (ctx) => {
    const hours = Number(ctx.query.hours ?? 6);
    ctx.set("cache-control", "no-store");
    ctx.body = { success: true, data: deps.requestLog.activity(Number.isFinite(hours) ? hours : 6) satisfies ActivityData };
  });

  r.get("/logs/stream", requireSession, (ctx) => {
    const max = deps.maxStreams ?? 16;
    if (deps.requestLog.subscribers >= max) throw new ProxyError(503, "server_busy", `At most ${max} log streams at once`, { retryAfterMs: 5_000 });
    const token = sessionToken(ctx);
    const res = ctx.res;
    ctx.respond = false;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff", connection: "keep-alive", "x-accel-buffering": "no" });
    res.write(": log stream\nretry: 3000\n\n");
    const send = (e: RequestLogEntry) => res.write(`event: entry\ndata: ${JSON.stringify(e)}\n\n`);
    const unsubscribe = deps.requestLog.subscribe(send);
    const timer = setInterval(() => {
      void deps.auth.verify(token).then((ok) => {
        if (res.writableEnded) return;
        if (ok) res.write(": keep-alive\n\n");
        else {
          res.write("event: expired\ndata: {}\n\n");
          stop();
        }
      });
    }, deps.streamKeepAliveMs ?? 15_000);
    const stop = () => {
      clearInterval(timer);
      unsubscribe();
      if (!res.writableEnded) res.end();
    };
    res.on("close", stop); // the response closing (the request's "close" only means its body was read)
  });

  return r;
}
