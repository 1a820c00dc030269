import type { RuntimeConfig } from "./config/env.js";
import { SettingsService } from "./config/settings.js";
import { GrokClient } from "./grok/client.js";
import { normalizeToken as normalizeSso } from "./core/token.js";
import { UpstreamError } from "./grok/upstream-error.js";
import { createLogger, mask } from "./log.js";
import { createStore } from "./store/index.js";

/**
 * `grok2api live-check`: walks the real grok.com path step by step with one account and says
 * which step fails and why (Cloudflare, anti-bot, dead cookie, quota…). Uses the stored settings
 * (user_agent, cf_clearance, proxy_url, statsig mode) so it tests exactly what the proxy would send.
 */
export async function liveCheck(runtime: RuntimeConfig, tokenArg: string | null, out: (line: string) => void = console.log): Promise<number> {
  const store = await createStore({ mode: runtime.storageMode, dataDir: runtime.dataDir, ...(runtime.databaseUrl ? { databaseUrl: runtime.databaseUrl } : {}) });
  await store.init();
  const settings = new SettingsService(store);
  await settings.load();
  let token = tokenArg ? normalizeSso(tokenArg) : null;
  if (!token) token = (await store.listAccounts()).find((a) => a.status !== "dead" && a.status !== "disabled")?.token ?? null;
  await store.close();
  if (!token) {
    out("No account: pass --token <sso cookie> or add accounts first.");
    return 2;
  }
  const grok = new GrokClient({ upstreamUrl: runtime.upstreamUrl, assetsUrl: runtime.assetsUrl, transport: runtime.transport, settings: () => settings.value.grok, log: createLogger("silent") });
  const acc = { token, userId: null as string | null };
  out(`Checking ${runtime.upstreamUrl} with account ${mask(token)} via ${runtime.transport}, chat_transport=${settings.value.grok.chat_transport}, statsig=${settings.value.grok.statsig_mode}`);
  let failed = 0;
  const step = async (name: string, fn: () => Promise<string>) => {
    const t0 = Date.now();
    try {
      const detail = await fn();
      out(`  ok    ${name} (${Date.now() - t0} ms) ${detail}`);
      return true;
    } catch (err) {
      failed++;
      const f = err instanceof UpstreamError ? err.failure : null;
      out(`  FAIL  ${name} (${Date.now() - t0} ms) ${f ? `[${f.kind}${f.status ? ` HTTP ${f.status}` : ""}] ` : ""}${(err as Error).message}`);
      return false;
    }
  };
  const signal = AbortSignal.timeout(60_000);
  await step("statsig value", async () => (await grok.statsig.get("POST", "/rest/app-chat/conversations/new", token!, signal)).slice(0, 16) + "…");
  const session = await step("session (GET /api/auth/session)", async () => `user id ${await grok.resolveUserId(acc, signal)}`);
  await step("quota (POST /rest/rate-limits)", async () => {
    const q = await grok.chatQuota(acc, ["fast", "auto", "expert", "heavy"], signal);
    return q.map((r) => `${r.mode} ${r.remaining}/${r.total}`).join(", ") || "no mode answered";
  });
  const chat = (transport: "gateway" | "rest") => async () => {
    const req = { mode: "fast", message: "Reply with the single word: pong", fileIds: [], temporary: true, disableSearch: true, enableImageGeneration: false, imageGenerationCount: 1 };
    const gen = transport === "gateway" ? grok.chatGateway(req, acc, signal) : grok.chatRest(req, acc, signal);
    let text = "";
    for await (const e of gen) {
      if (e.type === "text") text += e.text;
      if (e.type === "error") throw new UpstreamError(e.error);
      if (e.type === "done") break;
    }
    if (!text) throw new Error("empty answer");
    return JSON.stringify(text.slice(0, 60));
  };
  if (session) await step("chat over the WebSocket gateway", chat("gateway"));
  await step("chat over REST NDJSON", chat("rest"));
  out(failed ? `${failed} step(s) failed.` : "All steps passed.");
  return failed ? 1 : 0;
}
