import type { ActivityBucket } from "../../shared/admin-api";
import { formatClock, formatTime } from "../lib/format";
import { useI18n } from "../i18n";

/** Requests (bars) and errors (red part of each bar) per 10 minutes, as an SVG with a text summary. */
export function ActivityChart({ buckets }: { buckets: ActivityBucket[] }) {
  const { t, locale } = useI18n();
  const max = Math.max(1, ...buckets.map((b) => b.requests));
  const total = buckets.reduce((n, b) => n + b.requests, 0);
  const errors = buckets.reduce((n, b) => n + b.errors, 0);
  const w = 6;
  const gap = 2;
  const h = 64;
  const width = buckets.length * (w + gap);
  const summary = t("overview.activitySummary", { requests: total, errors });
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${h}`} preserveAspectRatio="none" role="img" aria-label={summary} className="chart-svg">
        {buckets.map((b, i) => {
          const rh = (b.requests / max) * (h - 2);
          const eh = (b.errors / max) * (h - 2);
          return (
            <g key={b.start}>
              <title>{`${formatTime(b.start, locale)}: ${t("overview.activitySummary", { requests: b.requests, errors: b.errors })}`}</title>
              <rect x={i * (w + gap)} y={h - rh} width={w} height={Math.max(rh, 0.5)} className={b.requests ? "chart-req" : "chart-zero"} />
              {b.errors ? <rect x={i * (w + gap)} y={h - eh} width={w} height={eh} className="chart-err" /> : null}
            </g>
          );
        })}
      </svg>
      {buckets.length ? (
        <div className="chart-axis muted small" aria-hidden="true">
          <span>{formatClock(buckets[0]!.start, locale)}</span>
          <span>{formatClock(buckets[buckets.length - 1]!.start + 600_000, locale)}</span>
        </div>
      ) : null}
      <figcaption className="muted">
        {total ? summary : t("overview.activityEmpty")} · {t("overview.activityLegend")}
      </figcaption>
    </figure>
  );
}
