/** One quota figure as grok.com reports it (rate-limits or quota_info), before the pool interprets it. */
export interface QuotaReading {
  mode: string;
  remaining: number;
  total: number;
  windowSeconds: number | null;
  resetAt: number | null;
}
