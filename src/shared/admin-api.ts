/**
 * Admin API shapes shared by the server (src/server/admin) and the manager UI (renderer,
 * later). Field names follow the original Grok2API; fields after `note` are additions.
 */
export type TokenType = "sso" | "ssoSuper";

export interface QuotaBucketInfo {
  remaining: number | null;
  total: number | null;
  confidence: "confirmed" | "estimated" | "unknown";
  resetAt: number | null;
  windowSeconds: number | null;
  syncedAt: number | null;
}

export interface TokenInfo {
  token: string;
  token_type: TokenType;
  created_time: number | null;
  remaining_queries: number;
  heavy_remaining_queries: number;
  /** The original page's labels: 正常, 未使用, 限流中, 失效 (and 已禁用 for disabled). */
  status: string;
  tags: string[];
  note: string;
  tier: "basic" | "super" | "heavy";
  tier_source: "detected" | "manual" | "imported";
  state: "active" | "cooling" | "dead" | "disabled";
  usable: boolean;
  status_reason: string;
  status_at: number;
  cooldown_until: number | null;
  quota: Record<string, QuotaBucketInfo>;
  in_flight: number;
  last_used: number | null;
  use_count: number;
  fail_count: number;
}

export interface TokenListResponse {
  success: true;
  data: TokenInfo[];
  total: number;
}

export interface LoginResponse {
  success: boolean;
  token?: string;
  message: string;
}

/* ---- additions for the React manager (src/renderer) ---------------------------------------- */

/** Any admin answer: `success` plus a human message; failures also carry `code`. */
export interface AdminResult<T = undefined> {
  success: boolean;
  message?: string;
  code?: string;
  data?: T;
}

export interface StatsData {
  normal: LegacyTierStats;
  super: LegacyTierStats;
  total: number;
  usable: number;
  cooling: number;
  dead: number;
  disabled: number;
  in_flight: number;
  next_reset_at: number | null;
  by_tier: Record<"basic" | "super" | "heavy", number>;
}

export interface LegacyTierStats {
  total: number;
  unused: number;
  limited: number;
  expired: number;
  active: number;
}

/** GET /api/health (the owner's full report). */
export interface HealthReport {
  status: string;
  version: string;
  uptime_s: number;
  storage: string;
  transport: string;
  chat_transport: string;
  accounts: { total: number; usable: number; cooling: number; dead: number; disabled: number; next_reset_at: number | null };
  problems: unknown[];
  memory: { rss: number; heap_used: number };
}

export interface AccountFailure {
  at: number;
  kind: string;
  message: string;
}

/** GET /api/tokens/detail */
export interface TokenDetail extends TokenInfo {
  user_id: string | null;
  failures: AccountFailure[];
}

export interface BulkTestResult {
  token: string;
  valid: boolean;
  message: string;
  kind: string | null;
  state: TokenInfo["state"] | null;
}

export interface ImportResult {
  format: string;
  added: number;
  replaced: number;
  existing: number;
  settings_imported: boolean;
}

/** One settings field as the server's zod schema describes it (GET /api/settings/schema). */
export interface SettingsField {
  name: string;
  kind: "boolean" | "number" | "enum" | "string" | "number[]" | "json";
  options?: string[];
  min?: number;
  max?: number;
  int?: boolean;
  /** The schema's default value. */
  default?: unknown;
}

export type SettingsSectionName = "global" | "grok";

export interface SettingsSchemaData {
  global: SettingsField[];
  grok: SettingsField[];
}

/** GET /api/settings: the values of both sections (admin_password always ""). */
export interface SettingsData {
  global: Record<string, unknown>;
  grok: Record<string, unknown> & { api_key_from_env?: boolean };
}

/** POST /api/settings/validate: every problem of the settings as they would be after the patch. */
export interface SettingsIssue {
  /** `grok.stream_chunk_timeout` */
  field: string;
  message: string;
}

/** One account tried for a request (the failover steps). */
export interface RequestAttemptStep {
  /** Masked account. */
  account: string;
  /** "ok" for the attempt that answered, "aborted" when the client left, else the failure kind. */
  outcome: string;
  message: string | null;
}

/** One client request as the request log keeps it (no prompt text unless request_log_prompts). */
export interface RequestLogEntry {
  id: string;
  /** Start, epoch ms. */
  time: number;
  /** Client protocol: openai, anthropic, responses. */
  protocol: string;
  path: string;
  /** The model the client asked for, and the catalogue model that served it. */
  model: string | null;
  served_model: string | null;
  stream: boolean;
  /** The masked account that answered (or the last one tried). */
  account: string | null;
  /** HTTP status; a stream that failed after output began keeps 200 and has `error`. */
  status: number;
  duration_ms: number;
  attempts: RequestAttemptStep[];
  error: { code: string; message: string } | null;
  /** When every account was busy: how the wait for a free one ended, and how long it took. */
  queue?: { outcome: string; waited_ms: number };
  prompt?: string;
}

/** GET /api/logs */
export interface RequestLogPage {
  entries: RequestLogEntry[];
  /** Ring capacity and retention in force. */
  capacity: number;
  retention_hours: number;
  file: string | null;
  prompts: boolean;
}

/** GET /api/logs/activity: requests and errors per bucket, oldest first. */
export interface ActivityBucket {
  start: number;
  requests: number;
  errors: number;
}

export interface ActivityData {
  bucket_ms: number;
  buckets: ActivityBucket[];
  /** The last upstream success and failure seen by this process (epoch ms), and that failure's kind. */
  last_ok_at: number | null;
  last_failure: { at: number; kind: string; message: string } | null;
}
