import Router from "@koa/router";
import Koa, { type Context, type Next } from "koa";
import { AdminAuth } from "./admin/auth.js";
import { pagesRouter } from "./admin/pages.js";
import { adminRouter } from "./admin/routes.js";
import { cacheRouter } from "./admin/cache-routes.js";
import { managerRouter } from "./admin/manager-routes.js";
import type { RequestLog } from "./observe/request-log.js";
import { clientAuth, cors, errors, loopbackHostGuard, originGuard, presentedKey, requestId, safeEqual } from "./api/middleware.js";
import { listensOnLoopback } from "./api/guards.js";
import { anthropicRouter } from "./api/anthropic.js";
import { imagesRouter } from "./api/images.js";
import { openaiRouter } from "./api/openai.js";
import { responsesRouter } from "./api/responses.js";
import { speechRouter } from "./api/speech.js";
import { videoWiring } from "./api/videos.js";
import type { RuntimeConfig } from "./config/env.js";
import type { SettingsService } from "./config/settings.js";
import { splitKeys } from "./config/env.js";
import { ProxyError } from "./errors.js";
import type { GrokClient } from "./grok/client.js";
import type { ModelCatalog } from "./grok/models.js";
import { UpstreamError } from "./grok/upstream-error.js";
import { redactUrl, type Logger } from "./log.js";
import type { MediaCache } from "./media/cache.js";
import type { VideoJobs } from "./media/video-jobs.js";
import { imageServingFor } from "./media/chat-images.js";
import { mediaRoutes } from "./media/serve.js";
import type { Tier } from "./core/account.js";
import type { AccountPool } from "./pool/index.js";
import { adapterForPath } from "./protocols/registry.js";
import type { Pipeline } from "./runner/pipeline.js";
import type { RunnerDeps } from "./runner/turn-runner.js";
import type { Store } from "./store/types.js";

/** Everything the HTTP app needs; built by server.ts (or by tests). */
export interface AppDeps {
  runtime: RuntimeConfig;
  store: Store;
  settings: SettingsService;
  pool: AccountPool;
  grok: GrokClient;
  pipeline: Pipeline;
  catalog: () => ModelCatalog;
  auth: AdminAuth;
  /** Generated images and videos, served at /images/{name} and /videos/{name}. */
  media: MediaCache;
  /** Videos API jobs (started and stopped by server.ts; made by createApp when absent). */
  videos?: VideoJobs;
  log: Logger;
  startedAt: number;
  /** Recent requests for the manager's Logs page (observe/request-log.ts). */
  requestLog: RequestLog;
}

/** Error shape by path: admin routes answer `{success:false,…}`, client routes their protocol's shape. */
function renderFor(ctx: Context) {
  if (ctx.path.startsWith("/api/")) return (err: ProxyError) => ({ status: err.status, body: { success: false, message: err.expose ? err.message : "Internal error", code: err.code, error: { code: err.code, message: err.expose ? err.message : "Internal error" } } });
  const adapter = adapterForPath(ctx.path);
  return (err: ProxyError) => adapter.renderError(err, String(ctx.state.requestId));
}

/** Tests one account against grok.com (session, then quota); a dead cookie or ban marks it dead, success revives it. */
export async function testAccount(deps: Pick<AppDeps, "pool">, token: string) {
  if (!deps.pool.get(token)) return { ok: false, message: "Unknown token", kind: null, view: undefined };
  try {
    await deps.pool.syncOne(token);
    return { ok: true, message: "Token is valid", kind: null, view: deps.pool.get(token) };
  } catch (err) {
    const f = err instanceof UpstreamError ? err.failure : null;
    return { ok: false, message: redactUrl(f?.message ?? (err as Error).message), kind: f?.kind ?? "network", view: deps.pool.get(token) };
  }
}

/** The full /health report (counts, storage, memory): for the owner, see healthIsOpen. */
export function healthReport(deps: AppDeps) {
  const st = deps.pool.stats();
  return {
    status: "ok",
    version: "0.1.0",
    uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
    storage: deps.store.mode,
    transport: deps.grok.transportName,
    chat_transport: deps.settings.value.grok.chat_transport,
    accounts: { total: st.total, usable: st.usable, cooling: st.cooling, dead: st.dead, disabled: st.disabled, next_reset_at: st.nextResetAt },
    problems: [...(deps.store.problems ?? []), ...deps.settings.invalid.map((i) => `stored setting ${i} (the default is used until it is saved again)`)],
    memory: (({ rss, heapUsed }) => ({ rss, heap_used: heapUsed }))(process.memoryUsage()),
  };
}

/**
 * The root, page and admin routers have no route under `/v1/` (their paths are `/health`, `/`,
 * `/login`, `/manage`, `/static/…` and `/api/…`), so for the client API's paths they are passed
 * over without walking their route tables: the outcome is the same, the per-request cost of
 * matching every route of every router in order is not (profiled: ~10 % of the proxy's own JS on
 * a short chat). Case-insensitive like the routers' own matching.
 */
const UNDER_V1 = /^\/v1\//i;
function notUnderV1(router: Router) {
  const mw = router.routes();
  return (ctx: Parameters<typeof mw>[0], next: Next) => (UNDER_V1.test(ctx.path) ? next() : mw(ctx, next));
}

/**
 * Accounts per tier, counted only when a tier is read: every chat asks (model_map's symbolic
 * targets), but only names that are not catalogue ids read it, and pool.stats() walks every
 * account (~0.4 ms per request with 10 000 accounts, ~9 µs with 4).
 */
function lazyTiers(pool: AccountPool): Record<Tier, number> {
  let counts: Record<Tier, number> | null = null;
  const count = (t: Tier) => (counts ??= pool.stats().byTier)[t];
  return {
    get basic() {
      return count("basic");
    },
    get super() {
      return count("super");
    },
    get heavy() {
      return count("heavy");
    },
  };
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;
  // Who may call (docs/security.md): CORS grants, then Host (DNS rebinding) and Origin (cross-site) checks.
  // asked several times per request (CORS, Origin guard, client auth): split once per setting value
  let keysOf: { text: string; keys: string[] } | null = null;
  const keys = () => {
    if (deps.runtime.apiKeys) return deps.runtime.apiKeys;
    const text = deps.settings.value.grok.api_key;
    if (keysOf?.text !== text) keysOf = { text, keys: splitKeys(text) };
    return keysOf.keys;
  };
  const keyRequired = () => !listensOnLoopback(deps.runtime.host) && !deps.settings.value.grok.trusted_network;
  const access = { keys, allowedOrigins: () => deps.settings.value.grok.cors_allowed_origins, baseUrl: () => deps.settings.value.global.base_url };
  app.use(requestId());
  app.use(cors(access));
  app.use(errors(deps.log, renderFor));
  app.use(loopbackHostGuard(deps.runtime.host, access.baseUrl));
  // Media files load in <img>/<video> tags of any chat UI (cross-site, no key): served before the origin guard.
  app.use(mediaRoutes(() => deps.media));
  app.use(originGuard(access));

  const root = new Router();
  // With client auth on, /health tells strangers only "ok"; the key or an admin session gets the counts.
  const healthIsOpen = async (ctx: Context) => {
    const k = keys();
    if (!k.length && !keyRequired()) return true;
    const presented = presentedKey(ctx);
    return !!presented && (k.some((x) => safeEqual(x, presented)) || (await deps.auth.verify(presented)));
  };
  root.get("/health", async (ctx) => {
    ctx.body = (await healthIsOpen(ctx)) ? healthReport(deps) : { status: "ok" };
  });
  app.use(notUnderV1(root));
  app.use(notUnderV1(pagesRouter()));

  const admin = adminRouter({
    auth: deps.auth,
    pool: deps.pool,
    settings: deps.settings,
    store: deps.store,
    storageMode: deps.store.mode,
    testAccount: (t) => testAccount(deps, t),
    envApiKeys: deps.runtime.apiKeys,
    health: () => healthReport(deps),
    beyondLoopback: !listensOnLoopback(deps.runtime.host),
    log: deps.log.child("admin"),
  });
  app.use(notUnderV1(cacheRouter({ auth: deps.auth, media: deps.media, baseUrl: () => deps.settings.value.global.base_url })));
  app.use(notUnderV1(admin));
  app.use(notUnderV1(managerRouter({ auth: deps.auth, settings: deps.settings, requestLog: deps.requestLog })));

  const client = new Router();
  client.use(clientAuth(keys, { keyRequired, log: deps.log.child("auth") }));
  const images = imageServingFor({ media: deps.media, download: (a, r, o) => deps.grok.downloadAsset(a, r, o), global: () => deps.settings.value.global });
  const runner: RunnerDeps = { pipeline: deps.pipeline, grok: deps.grok, catalog: deps.catalog, settings: () => deps.settings.value.grok, tiers: () => lazyTiers(deps.pool), log: deps.log.child("runner"), requestLog: deps.requestLog, images };
  client.use(openaiRouter(runner).routes());
  client.use(anthropicRouter(runner).routes());
  client.use(responsesRouter(runner, deps.store).routes());
  client.use(speechRouter({ pipeline: deps.pipeline, grok: deps.grok }).routes());
  const video = videoWiring(deps); // video models in chat and the Videos API (api/videos.ts)
  runner.video = video.serving;
  client.use(video.router.routes());
  client.use(imagesRouter({ pipeline: deps.pipeline, grok: deps.grok, catalog: deps.catalog, images, allowPrivate: () => deps.settings.value.grok.image_url_allow_private, log: deps.log.child("images") }).routes());
  app.use(client.routes());
  return app;
}
