import type { ActivityData, HealthReport, StatsData, TokenInfo, TokenListResponse } from "../../shared/admin-api";
import { useI18n } from "../i18n";
import { get } from "../lib/api";
import { formatDuration, formatRelative } from "../lib/format";
import { poolQuota } from "../lib/quota";
import { useInterval, useLoad, useNow } from "../components/hooks";
import { Empty, ErrorBox, Loading } from "../components/States";
import { Countdown } from "../components/Countdown";
import { PoolQuotaBar } from "../components/QuotaBar";
import { ActivityChart } from "../components/ActivityChart";

interface OverviewData {
  stats: StatsData;
  health: HealthReport;
  activity: ActivityData;
  accounts: TokenInfo[];
}

async function loadOverview(): Promise<OverviewData> {
  const [stats, health, activity, tokens] = await Promise.all([
    get<{ data: StatsData }>("/api/stats"),
    get<HealthReport>("/api/health"),
    get<{ data: ActivityData }>("/api/logs/activity?hours=6"),
    get<TokenListResponse>("/api/tokens"),
  ]);
  return { stats: stats.data, health, activity: activity.data, accounts: tokens.data };
}

/** The pool at a glance: counts by state, the next reset, quota per bucket, traffic, upstream health. */
export function Overview() {
  const { t } = useI18n();
  const d = useLoad(loadOverview);
  const now = useNow(5000);
  useInterval(() => void d.reload(), 15_000);

  if (!d.data) return d.error ? <ErrorBox error={d.error} onRetry={() => void d.reload()} /> : <Loading />;
  const { stats, health, activity, accounts } = d.data;
  const pool = poolQuota(accounts);
  const failing = activity.last_failure !== null && (activity.last_ok_at === null || activity.last_failure.at > activity.last_ok_at);

  return (
    <section aria-labelledby="overview-title" className="page">
      <div className="page-head">
        <h1 id="overview-title">{t("overview.title")}</h1>
        <button type="button" className="btn" id="refresh" onClick={() => void d.reload()} disabled={d.loading}>
          {t("common.refresh")}
        </button>
      </div>
      {d.error ? <ErrorBox error={d.error} onRetry={() => void d.reload()} /> : null}

      <div className="card">
        <h2>{t("overview.pool")}</h2>
        <p className="muted" id="stat-summary">
          {t("overview.total", { n: stats.total })} · {t("overview.inFlight", { n: stats.in_flight })}
        </p>
        {stats.total === 0 ? (
          <Empty title={t("overview.empty")} action={<a className="btn btn-primary" href="#/accounts">{t("overview.toAccounts")}</a>} />
        ) : (
          <div className="stat-grid">
            {(
              [
                ["active", stats.usable, "overview.usableHelp"],
                ["cooling", stats.cooling, "overview.coolingHelp"],
                ["dead", stats.dead, "overview.deadHelp"],
                ["disabled", stats.disabled, "overview.disabledHelp"],
              ] as const
            ).map(([state, n, help]) => (
              <a key={state} className={`stat stat-${state}`} href="#/accounts" id={`stat-${state}`}>
                <span className="stat-value">{n}</span>
                <span className="stat-label">{t(`state.${state}`)}</span>
                <span className="stat-help muted">{t(help)}</span>
              </a>
            ))}
          </div>
        )}
        <div className="next-reset" id="next-reset">
          <strong>{t("overview.nextReset")}: </strong>
          {stats.next_reset_at !== null && stats.next_reset_at > now ? <Countdown target={stats.next_reset_at} onDone={() => void d.reload()} /> : <span className="muted">{t("overview.nextResetNone")}</span>}
        </div>
      </div>

      <div className="grid-2">
        <div className="card">
          <h2>{t("overview.quota")}</h2>
          <p className="muted small">{t("overview.quotaHelp")}</p>
          {pool.length ? pool.map((p) => <PoolQuotaBar key={p.bucket} p={p} />) : <p className="muted">{t("quota.unknown")}</p>}
        </div>
        <div className="card">
          <h2>{t("overview.activity")}</h2>
          <ActivityChart buckets={activity.buckets} />
        </div>
      </div>

      <div className="card">
        <h2>
          {t("overview.upstream")}{" "}
          <span className={`badge ${failing ? "badge-dead" : activity.last_ok_at ? "badge-active" : "badge-muted"}`} id="upstream-health">
            {failing ? t("overview.degraded") : activity.last_ok_at ? t("overview.healthy") : t("overview.idle")}
          </span>
        </h2>
        <dl className="facts">
          <dt>{t("overview.transport")}</dt>
          <dd id="transport">{health.transport}</dd>
          <dt>{t("overview.chatTransport")}</dt>
          <dd>{health.chat_transport}</dd>
          <dt>{t("overview.lastOk")}</dt>
          <dd>{activity.last_ok_at ? formatRelative(activity.last_ok_at, now, { t }) : t("common.never")}</dd>
          <dt>{t("overview.lastFailure")}</dt>
          <dd>{activity.last_failure ? `${formatRelative(activity.last_failure.at, now, { t })} · ${activity.last_failure.kind}: ${activity.last_failure.message}` : t("common.none")}</dd>
          <dt>{t("overview.storage")}</dt>
          <dd id="storage-mode">{health.storage.toUpperCase()}</dd>
          {health.problems.length ? (
            <>
              <dt>{t("overview.problems")}</dt>
              <dd className="warn">{health.problems.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join("; ")}</dd>
            </>
          ) : null}
          <dt>{t("overview.uptime")}</dt>
          <dd>{formatDuration(health.uptime_s * 1000, { t })}</dd>
          <dt>{t("overview.version")}</dt>
          <dd>{health.version}</dd>
        </dl>
      </div>
    </section>
  );
}
