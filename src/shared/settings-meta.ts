/**
 * What the manager says about each setting, in English and 简体中文: its group, label, one-line
 * explanation, unit and — for the dangerous ones — why. Kinds, limits, options and defaults are
 * not here: they come from the server's zod schema (GET /api/settings/schema, derived by
 * src/server/admin/settings-fields.ts), so the form can never drift from validation.
 * test/renderer/settings-meta.test.ts fails when a schema field has no entry here.
 */
export type Lang = "en" | "zh";
export interface Text {
  en: string;
  zh: string;
}

export type SettingsGroupId = "access" | "network" | "antibot" | "output" | "reliability" | "models" | "media" | "logs";

export interface SettingsGroup {
  id: SettingsGroupId;
  label: Text;
  help: Text;
}

export interface SettingMeta {
  group: SettingsGroupId;
  label: Text;
  help: Text;
  /** Why changing it can hurt (shown next to the field). */
  danger?: Text;
  unit?: Text;
  /** A value not to be shown in clear (keys, cookies, passwords). */
  secret?: boolean;
  /** Kept only for the original's setting files; it changes nothing here. */
  compat?: boolean;
}

export const SETTINGS_GROUPS: SettingsGroup[] = [
  { id: "access", label: { en: "Access", zh: "访问控制" }, help: { en: "Who may use the API and the manager.", zh: "谁可以使用 API 和管理页面。" } },
  { id: "network", label: { en: "Connection to grok.com", zh: "连接 grok.com" }, help: { en: "How requests reach grok.com: proxy, Cloudflare, browser identity, transport.", zh: "请求如何到达 grok.com：代理、Cloudflare、浏览器身份、传输方式。" } },
  { id: "antibot", label: { en: "Anti-bot header", zh: "反机器人请求头" }, help: { en: "The x-statsig-id header grok.com checks on every chat.", zh: "grok.com 在每次对话时检查的 x-statsig-id 请求头。" } },
  { id: "output", label: { en: "Answers", zh: "回答内容" }, help: { en: "What clients see of reasoning, search results and grok.com markup.", zh: "客户端能看到的推理过程、搜索结果和 grok.com 标记。" } },
  { id: "reliability", label: { en: "Timeouts and failover", zh: "超时与故障转移" }, help: { en: "How long to wait and how many accounts one request may try.", zh: "等待多久，以及一个请求最多尝试几个账号。" } },
  { id: "models", label: { en: "Models", zh: "模型" }, help: { en: "Which grok.com model answers the names clients send.", zh: "客户端发送的模型名由哪个 grok.com 模型应答。" } },
  { id: "media", label: { en: "Images and media", zh: "图片与媒体" }, help: { en: "Images in prompts and answers, and the media cache.", zh: "提示词和回答中的图片，以及媒体缓存。" } },
  { id: "logs", label: { en: "Logs", zh: "日志" }, help: { en: "The server log and the request log behind the Logs page.", zh: "服务器日志，以及“日志”页面使用的请求记录。" } },
];

const t = (en: string, zh: string): Text => ({ en, zh });

export const SETTINGS_META: Record<string, SettingMeta> = {
  // ---- global -------------------------------------------------------------------------------
  "global.admin_username": { group: "access", label: t("Admin user name", "管理员用户名"), help: t("The name to sign in to this manager with (GROK2API_ADMIN_USERNAME overrides it).", "登录管理页面所用的用户名（GROK2API_ADMIN_USERNAME 优先）。") },
  "global.admin_password": {
    group: "access",
    label: t("New admin password", "新的管理员密码"),
    help: t("At least 8 characters. Leave empty to keep the current one; saving a new one signs everyone out.", "至少 8 个字符。留空则不修改；保存新密码后所有人都需重新登录。"),
    secret: true,
  },
  "global.base_url": { group: "media", label: t("Public base URL", "公开访问地址"), help: t("Used in media links; empty = the address each request came to.", "用于媒体链接；留空则使用每个请求所访问的地址。") },
  "global.image_mode": { group: "media", label: t("Generated images as", "生成图片的返回方式"), help: t("url: links served by this proxy; base64: inline data in the answer.", "url：由本代理提供的链接；base64：直接内嵌在回答中。") },
  "global.image_cache_max_size_mb": { group: "media", label: t("Image cache limit", "图片缓存上限"), help: t("Oldest cached images are removed past this size.", "超过此大小时删除最早缓存的图片。"), unit: t("MB", "MB") },
  "global.video_cache_max_size_mb": { group: "media", label: t("Video cache limit", "视频缓存上限"), help: t("Oldest cached videos are removed past this size.", "超过此大小时删除最早缓存的视频。"), unit: t("MB", "MB") },
  "global.log_level": { group: "logs", label: t("Server log level", "服务器日志级别"), help: t("DEBUG, INFO, WARN or ERROR (LOG_LEVEL overrides it).", "DEBUG、INFO、WARN 或 ERROR（LOG_LEVEL 优先）。") },
  "global.request_log_entries": { group: "logs", label: t("Requests kept", "保留的请求数"), help: t("Recent requests kept in memory for the Logs page; 0 keeps none.", "在内存中为“日志”页面保留的最近请求数；0 表示不保留。") },
  "global.request_log_file": { group: "logs", label: t("Write requests to a file", "将请求写入文件"), help: t("Also appends them to logs/requests.jsonl in the data folder (rotated at 5 MiB).", "同时追加到数据目录下的 logs/requests.jsonl（5 MiB 轮换）。") },
  "global.request_log_retention_hours": { group: "logs", label: t("Keep requests for", "请求保留时长"), help: t("Older entries are dropped from memory and the file.", "更早的记录会从内存和文件中删除。"), unit: t("hours", "小时") },
  "global.request_log_prompts": {
    group: "logs",
    label: t("Keep prompt text", "保留提示词内容"),
    help: t("Stores the (shortened) prompt of each request with its log entry.", "在每条请求记录中保存（截断后的）提示词。"),
    danger: t("Prompts may hold private text; anyone signed in here can read them.", "提示词可能包含隐私内容，任何登录此处的人都能看到。"),
  },
  // ---- grok ---------------------------------------------------------------------------------
  "grok.api_key": {
    group: "access",
    label: t("Client API keys", "客户端 API 密钥"),
    help: t("Keys clients must send, comma-separated; empty = no key needed (GROK2API_API_KEY overrides it).", "客户端必须携带的密钥，逗号分隔；留空则无需密钥（GROK2API_API_KEY 优先）。"),
    danger: t("Empty while the server listens on the network lets anyone there use your accounts.", "服务器对局域网开放时若留空，网络中的任何人都能使用你的账号。"),
    secret: true,
  },
  "grok.cors_allowed_origins": { group: "access", label: t("Allowed browser origins", "允许的浏览器来源"), help: t("Web apps (comma-separated origins) that may call the API while no key is set; local ones always may.", "未设置密钥时允许调用 API 的网页应用（逗号分隔的来源）；本机来源始终允许。") },
  "grok.trusted_network": {
    group: "access",
    label: t("Trusted network", "可信网络"),
    help: t("Allows listening on the network (HOST=0.0.0.0) without an API key.", "允许在没有 API 密钥的情况下对网络开放（HOST=0.0.0.0）。"),
    danger: t("Everyone who can reach this machine can then spend your accounts' quota.", "能访问本机的所有人都可以消耗你账号的额度。"),
  },
  "grok.proxy_url": { group: "network", label: t("Proxy", "代理"), help: t("Egress proxy for every grok.com call: http://, https:// or socks5://user:pass@host:port.", "所有 grok.com 请求使用的出口代理：http://、https:// 或 socks5://user:pass@host:port。") },
  "grok.cache_proxy_url": { group: "network", label: t("Proxy for downloads", "下载代理"), help: t("Proxy for images and videos from assets.grok.com; empty = the proxy above.", "下载 assets.grok.com 图片和视频所用的代理；留空则使用上面的代理。") },
  "grok.cf_clearance": { group: "network", label: t("Cloudflare clearance", "Cloudflare 验证"), help: t("cf_clearance value or cookie string from the same browser, IP and user agent.", "来自同一浏览器、IP 和 User-Agent 的 cf_clearance 值或 Cookie 字符串。"), secret: true },
  "grok.user_agent": { group: "network", label: t("Browser user agent", "浏览器 User-Agent"), help: t("Must be the one that earned cf_clearance; the TLS profile follows it.", "必须与获得 cf_clearance 的一致；TLS 指纹会随之匹配。") },
  "grok.chat_transport": { group: "network", label: t("Chat transport", "对话传输方式"), help: t("gateway: WebSocket (current grok.com); rest: NDJSON; auto: gateway, REST when refused.", "gateway：WebSocket（当前 grok.com）；rest：NDJSON；auto：优先 gateway，被拒时改用 REST。") },
  "grok.temporary": { group: "output", label: t("Private conversations", "临时对话"), help: t("Chats are temporary on grok.com and do not show in the accounts' history.", "在 grok.com 上使用临时对话，不会出现在账号的历史记录里。") },
  "grok.statsig_mode": { group: "antibot", label: t("x-statsig-id mode", "x-statsig-id 模式"), help: t("dynamic: generated per request; static: the fixed value below; signed: fetched from a signer URL.", "dynamic：每次请求生成；static：使用下方固定值；signed：从签名服务获取。") },
  "grok.dynamic_statsig": { group: "antibot", label: t("Dynamic x-statsig-id", "动态 x-statsig-id"), help: t("The original's switch; the mode above decides.", "原版的开关；以上方的模式为准。"), compat: true },
  "grok.x_statsig_id": { group: "antibot", label: t("Static x-statsig-id", "固定 x-statsig-id"), help: t("The value sent in static mode.", "static 模式下发送的值。") },
  "grok.statsig_prefix": { group: "antibot", label: t("Dynamic value prefix", "动态值前缀"), help: t("Prefix of generated values.", "生成值的前缀。") },
  "grok.statsig_signer_url": { group: "antibot", label: t("Signer URL", "签名服务地址"), help: t("Where signed mode fetches a value for each request.", "signed 模式下为每个请求获取值的地址。") },
  "grok.show_thinking": { group: "output", label: t("Show reasoning", "显示推理过程"), help: t("Off hides the model's reasoning whatever the format below.", "关闭后无论下方格式如何都隐藏推理过程。") },
  "grok.thinking_output": { group: "output", label: t("Reasoning format", "推理输出格式"), help: t("reasoning_content (DeepSeek style), reasoning (vLLM/Ollama), think-tags in the text, or hidden.", "reasoning_content（DeepSeek 风格）、reasoning（vLLM/Ollama）、正文中的 think 标签，或隐藏。") },
  "grok.inline_citations": { group: "output", label: t("Inline citations", "行内引用"), help: t("Citation markers [[n]](url) in the text, with url_citation annotations.", "在正文中加入 [[n]](url) 引用标记，并附带 url_citation 注解。") },
  "grok.show_search_sources": { group: "output", label: t("Sources list", "来源列表"), help: t("Appends the web results used as a Sources list.", "在回答末尾附上所用网页结果的来源列表。") },
  "grok.filtered_tags": { group: "output", label: t("Removed markup tags", "移除的标记标签"), help: t("grok.com tags removed from answers, comma-separated.", "从回答中移除的 grok.com 标签，逗号分隔。") },
  "grok.stream_first_response_timeout": { group: "reliability", label: t("First output within", "首个输出超时"), help: t("An account that shows nothing for this long is left for the next one.", "账号在此时间内没有任何输出时改用下一个账号。"), unit: t("s", "秒") },
  "grok.stream_chunk_timeout": { group: "reliability", label: t("Silence between outputs", "输出间隔超时"), help: t("The longest pause grok.com may make in the middle of an answer.", "回答过程中 grok.com 允许的最长停顿。"), unit: t("s", "秒") },
  "grok.stream_total_timeout": { group: "reliability", label: t("Whole request within", "整个请求超时"), help: t("Upper bound for one request, failover included.", "单个请求（含故障转移）的最长时间。"), unit: t("s", "秒") },
  "grok.keepalive_interval": { group: "reliability", label: t("Keep-alive every", "保活间隔"), help: t("Comment lines sent while grok.com thinks silently, so clients do not give up.", "grok.com 静默思考时发送注释行，避免客户端断开。"), unit: t("s", "秒") },
  "grok.max_attempts": { group: "reliability", label: t("Accounts tried per request", "每个请求尝试的账号数"), help: t("Failover moves to another account until this many were tried.", "故障转移最多尝试这么多个账号。") },
  "grok.account_concurrency": { group: "reliability", label: t("Requests per account at once", "每个账号的并发请求数"), help: t("Concurrent requests one account may serve; 0 = unlimited.", "一个账号可同时处理的请求数；0 表示不限制。") },
  "grok.queue_timeout": { group: "reliability", label: t("Wait for a free account up to", "等待空闲账号最长"), help: t("When every account is at its limit, a request waits this long for a slot before 429; 0 = 429 at once.", "所有账号都达到并发上限时，请求最多等待这么久再返回 429；0 表示立即返回 429。"), unit: t("s", "秒") },
  "grok.queue_max_depth": { group: "reliability", label: t("Requests waiting at most", "最多等待的请求数"), help: t("How many requests may wait for a slot at once; more get 429 at once. 0 = no waiting.", "同时等待空闲账号的请求上限；超出的立即返回 429。0 表示不等待。") },
  "grok.retry_status_codes": { group: "reliability", label: t("Retry status codes", "重试状态码"), help: t("The original's list; failover here is decided by the kind of failure.", "原版的列表；这里的故障转移按失败类型决定。"), compat: true },
  "grok.responses_ttl_hours": { group: "reliability", label: t("Stored responses kept for", "已存储响应的保留时长"), help: t("Responses API answers stored with store:true, for previous_response_id.", "Responses API 中 store:true 保存的回答，用于 previous_response_id。"), unit: t("hours", "小时") },
  "grok.model_map": { group: "models", label: t("Model name map", "模型名称映射"), help: t("Client model names (glob patterns, first match wins) → a model id or @strongest, @default, @fast.", "客户端模型名（通配符，先匹配者优先）→ 模型 ID 或 @strongest、@default、@fast。") },
  "grok.video_flow": { group: "media", label: t("Text-to-video request form", "文生视频请求方式"), help: t("auto: the current grok.com form, the media-post form when that is refused; or only one of them.", "auto：使用当前 grok.com 的方式，被拒绝时改用 media-post；也可只用其中一种。") },
  "grok.image_url_allow_private": {
    group: "media",
    label: t("Images from private addresses", "允许私有地址的图片"),
    help: t("Lets image_url attachments point at this machine or your LAN.", "允许 image_url 附件指向本机或局域网地址。"),
    danger: t("A client could then make the server fetch internal pages (SSRF).", "客户端可借此让服务器访问内网页面（SSRF）。"),
  },
};

/** Settings the form shows that the schema does not describe (write-only). */
export const EXTRA_FIELDS: Array<{ section: "global" | "grok"; name: string; kind: "password" }> = [{ section: "global", name: "admin_password", kind: "password" }];
