import { z } from "zod";
import { originListProblem } from "../net/origin.js";

/**
 * The settings schema: one place for every setting, its default and its validation.
 * Sections and names follow the original Grok2API (`global`, `grok`) so its admin page JSON
 * and setting files keep working; keys we do not know are preserved untouched.
 */
const bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
const num = (min: number, max: number) => z.preprocess((v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v), z.number().min(min).max(max));
const int = (min: number, max: number) => z.preprocess((v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v), z.number().int().min(min).max(max));

const PROXY_SCHEMES = ["http:", "https:", "socks4:", "socks4a:", "socks5:", "socks5h:"];
/** Why a proxy URL is unusable, or null ("" is fine: no proxy). Never repeats the value: it may hold a password. */
export function proxyUrlProblem(value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return "must be a URL like http://host:3128 or socks5://user:pass@host:1080";
  }
  if (!PROXY_SCHEMES.includes(u.protocol)) return "the scheme must be http, https, socks4 or socks5";
  if (!u.hostname) return "needs a host";
  if ((u.pathname && u.pathname !== "/") || u.search || u.hash) return "must be scheme://[user:pass@]host:port with nothing after the port";
  return null;
}
const proxyUrl = z.string().superRefine((v, ctx) => {
  const problem = proxyUrlProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const DEFAULT_USER_AGENT =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

/** Client model names → catalogue ids or @strongest / @default / @fast (runner/model-map.ts). */
export const DEFAULT_MODEL_MAP: Record<string, string> = {
  "claude-*opus*": "@strongest",
  "claude-*sonnet*": "@default",
  "claude-*haiku*": "@fast",
  "claude-*": "@default",
};
const modelTarget = z.string().min(1).refine((t) => !t.startsWith("@") || ["@strongest", "@default", "@fast"].includes(t), { message: "must be a model id or one of @strongest, @default, @fast" });

export const globalSchema = z.looseObject({
  /** Public base URL used for media links; empty = derived from each request's Host. */
  base_url: z.string().default(""),
  log_level: z.string().default("INFO"),
  /** How generated images are returned in chat: proxy-hosted "url" or inline "base64". */
  image_mode: z.enum(["url", "base64"]).default("url"),
  admin_username: z.string().min(1).default("admin"),
  image_cache_max_size_mb: int(1, 1_000_000).default(512),
  video_cache_max_size_mb: int(1, 1_000_000).default(1024),
  /** Request log (observe/request-log.ts): recent requests kept in memory for the manager's Logs page (0 = none). */
  request_log_entries: int(0, 100_000).default(1000),
  /** Also append them to <data>/logs/requests.jsonl (rotated at 5 MiB, 3 old files kept). */
  request_log_file: bool.default(false),
  /** Hours an entry is kept (memory and file). */
  request_log_retention_hours: num(1, 8760).default(24),
  /** Keep the (flattened, clipped) prompt text with each entry. Off: no prompt text is kept anywhere. */
  request_log_prompts: bool.default(false),
});

export const grokSchema = z.looseObject({
  /** Client API key(s) for /v1/*, comma-separated; empty = no client auth. GROK2API_API_KEY overrides it. */
  api_key: z.string().default(""),
  /** Browser origins (comma-separated) allowed to call /v1 while no API key is set; loopback origins always are. */
  cors_allowed_origins: z
    .string()
    .superRefine((v, ctx) => {
      const problem = originListProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .default(""),
  /** Listening beyond loopback (HOST=0.0.0.0) without an API key: allowed only on a network you trust. */
  trusted_network: bool.default(false),
  /** Egress proxy for every upstream call (http://, https://, socks5://). */
  proxy_url: proxyUrl.default(""),
  /** Proxy for asset downloads; empty = proxy_url. */
  cache_proxy_url: proxyUrl.default(""),
  /** Cloudflare clearance cookie value (must come from the same browser/IP/UA as user_agent). */
  cf_clearance: z.string().default(""),
  /** Static x-statsig-id value (statsig_mode "static"). */
  x_statsig_id: z.string().default(""),
  /** Original switch: true = generate per request (our "dynamic" mode). */
  dynamic_statsig: bool.default(true),
  /** dynamic: fallback value with statsig_prefix per request; static: x_statsig_id; signed: fetched from statsig_signer_url. */
  statsig_mode: z.enum(["dynamic", "static", "signed"]).default("dynamic"),
  statsig_prefix: z.string().default("x1:"),
  statsig_signer_url: z.string().default(""),
  /** Upstream markup tags removed from answers (case-insensitive). */
  filtered_tags: z.string().default("xaiartifact,xai:tool_usage_card,grok:render"),
  /** Original switch: false hides reasoning. thinking_output decides the format when shown. */
  show_thinking: bool.default(true),
  thinking_output: z.enum(["reasoning_content", "reasoning", "think-tags", "hidden"]).default("reasoning_content"),
  /** Append a "Sources" list of search results to the answer. */
  show_search_sources: bool.default(false),
  /** Inline citation markers [[n]](url) in the answer text. */
  inline_citations: bool.default(true),
  temporary: bool.default(true),
  /** Chat transport: gateway (WebSocket, current grok.com), rest (NDJSON), auto (gateway, falling back to rest when refused). */
  chat_transport: z.enum(["gateway", "rest", "auto"]).default("gateway"),
  /** Browser user agent; must match the one that earned cf_clearance. */
  user_agent: z.string().min(1).default(DEFAULT_USER_AGENT),
  stream_first_response_timeout: num(1, 3600).default(30),
  stream_chunk_timeout: num(1, 3600).default(120),
  stream_total_timeout: num(1, 86_400).default(600),
  /** Comment line ": keep-alive" every N seconds while the upstream is silent. */
  keepalive_interval: num(1, 300).default(15),
  /** Hours a stored Responses API response (store:true) is kept for previous_response_id and GET /v1/responses/{id}. */
  responses_ttl_hours: num(1, 8760).default(72),
  /** How many accounts one request may try before failing. */
  max_attempts: int(1, 20).default(3),
  /** Per-account concurrent requests (0 = unlimited). */
  account_concurrency: int(0, 1000).default(4),
  /** Seconds a request waits for a free slot when every eligible account is at account_concurrency (0 = answer 429 at once). */
  queue_timeout: num(0, 3600).default(30),
  /** Requests that may wait for a slot at once (all models); beyond that 429 at once. 0 = no waiting. */
  queue_max_depth: int(0, 100_000).default(1000),
  /** Allow image_url attachments from private/loopback addresses (off: SSRF protection). */
  image_url_allow_private: bool.default(false),
  /** Text-to-video request form (grok-protocol.md §8): "auto" (the current mediaGenInput form, the media-post form when that is refused), or one of them only. */
  video_flow: z.enum(["auto", "text-to-video", "media-post"]).default("auto"),
  /** Client model names (glob patterns, first match wins) → model ids or @strongest / @default / @fast. */
  model_map: z.record(z.string().min(1), modelTarget).default(DEFAULT_MODEL_MAP),
  /** Original setting, kept for compatibility; failover is decided by failure kind instead. */
  retry_status_codes: z.array(z.number().int()).default([401, 429]),
});

export const settingsSchema = z.object({
  global: globalSchema.default(globalSchema.parse({})),
  grok: grokSchema.default(grokSchema.parse({})),
});

export type GlobalSettings = z.infer<typeof globalSchema>;
export type GrokSettings = z.infer<typeof grokSchema>;
export type Settings = z.infer<typeof settingsSchema>;

export const SETTINGS_VERSION = 1;
