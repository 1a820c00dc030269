import { useI18n } from "../i18n";
import type { QuotaBucketInfo } from "../../shared/admin-api";
import { type PoolBucket, poolShares, quotaBar } from "../lib/quota";
import { formatNumber } from "../lib/format";

/**
 * One account's bucket: a bar of what is left. Confirmed figures (grok.com said so) are solid,
 * estimated ones striped and prefixed "≈"; unknown shows no bar at all.
 */
export function QuotaBar({ bucket, label }: { bucket: QuotaBucketInfo | undefined; label?: string }) {
  const { t, locale } = useI18n();
  const m = quotaBar(bucket);
  if (m.percent === null) return <span className="quota quota-unknown muted">{t("quota.unknown")}</span>;
  const text = t(m.confidence === "estimated" ? "quota.leftEstimated" : "quota.left", { remaining: formatNumber(m.remaining ?? 0, locale), total: formatNumber(m.total ?? 0, locale) });
  return (
    <span className={`quota quota-${m.tone} quota-${m.confidence}`} title={t(`confidence.${m.confidence}`)}>
      {label ? <span className="quota-label">{label}</span> : null}
      <span className="bar" role="meter" aria-valuemin={0} aria-valuemax={m.total ?? 0} aria-valuenow={m.remaining ?? 0} aria-label={label ? `${label}: ${text}` : text}>
        <span className="bar-fill" style={{ width: `${m.percent}%` }} />
      </span>
      <span className="quota-text">{text}</span>
    </span>
  );
}

/** The pool's bucket: confirmed part solid, estimated part striped, side by side. */
export function PoolQuotaBar({ p }: { p: PoolBucket }) {
  const { t, locale } = useI18n();
  const s = poolShares(p);
  const known = s.total > 0;
  const bucketLabel = (["fast", "auto", "expert", "heavy", "image", "video"] as const).includes(p.bucket as "fast") ? t(`bucket.${p.bucket as "fast"}`) : p.bucket;
  const text = known ? t(p.estimated.total > 0 ? "quota.leftEstimated" : "quota.left", { remaining: formatNumber(s.remaining, locale), total: formatNumber(s.total, locale) }) : t("quota.unknown");
  return (
    <div className="pool-quota">
      <div className="pool-quota-head">
        <strong>{bucketLabel}</strong>
        <span className="muted">{t("overview.quotaAccounts", { n: p.accounts })}</span>
      </div>
      <span className="bar bar-wide" role="meter" aria-valuemin={0} aria-valuemax={s.total} aria-valuenow={s.remaining} aria-label={`${bucketLabel}: ${text}`}>
        <span className="bar-fill quota-confirmed" style={{ width: `${s.confirmed}%` }} />
        <span className="bar-fill quota-estimated" style={{ width: `${s.estimated}%` }} />
      </span>
      <span className="quota-text">{text}</span>
    </div>
  );
}
