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
