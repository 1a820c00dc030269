import { useState } from "react";
import type { TokenDetail, TokenInfo } from "../../shared/admin-api";
import { useI18n } from "../i18n";
import { get, post } from "../lib/api";
import { formatDateTime, formatRelative, maskToken } from "../lib/format";
import { useLoad, useNow } from "../components/hooks";
import { Dialog } from "../components/Dialog";
import { ErrorBox, errorText, Loading } from "../components/States";
import { QuotaBar } from "../components/QuotaBar";
import { Countdown } from "../components/Countdown";
import { useToast } from "../components/Toasts";

const BUCKETS = ["fast", "auto", "expert", "heavy", "image", "video"] as const;

/** One account: tier and how it was learned, state and why, every quota bucket, recent failures. */
export function AccountDetail({ token, onClose, onChanged }: { token: string; onClose: () => void; onChanged: () => void }) {
  const { t, locale } = useI18n();
  const toast = useToast();
  const d = useLoad(() => get<{ data: TokenDetail }>(`/api/tokens/detail?token=${encodeURIComponent(token)}`).then((r) => r.data), [token]);
  const [tier, setTier] = useState<TokenInfo["tier"] | "auto" | "">("");
  const now = useNow(5000);
  const m = maskToken(token);
  const a = d.data;

  return (
    <Dialog open id="detail" wide title={t("detail.title", { account: m })} onClose={onClose}>
      {!a ? (
        d.error ? <ErrorBox error={d.error} onRetry={() => void d.reload()} /> : <Loading />
      ) : (
        <div className="detail">
          <dl className="facts">
            <dt>{t("detail.state")}</dt>
            <dd>
              <span className={`badge badge-${a.state}`}>{t(`state.${a.state}`)}</span>
              {a.status_reason ? <span className="muted"> · {a.status_reason}</span> : null}
            </dd>
            <dt>{t("detail.since")}</dt>
            <dd>{formatDateTime(a.status_at, locale)}</dd>
            <dt>{t("detail.tier")}</dt>
            <dd>
              {t(`tier.${a.tier}`)} <span className="muted">({t(`tierSource.${a.tier_source}`)})</span>
              <span className="row">
                <label htmlFor="detail-tier" className="sr-only">
                  {t("detail.tier")}
                </label>
                <select id="detail-tier" value={tier || a.tier} onChange={(e) => setTier(e.target.value as typeof tier)}>
                  {(["auto", "basic", "super", "heavy"] as const).map((x) => (
                    <option key={x} value={x}>
                      {t(`tier.${x}`)}
                    </option>
                  ))}
                </select>
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={!tier || tier === a.tier}
                  onClick={async () => {
                    try {
                      await post("/api/tokens/update", { token, tier });
                      setTier("");
                      await d.reload();
                      onChanged();
                    } catch (err) {
                      toast(errorText(err, t), "error");
                    }
                  }}
                >
                  {t("detail.tierSave")}
                </button>
              </span>
            </dd>
            <dt>{t("detail.userId")}</dt>
            <dd className="mono">{a.user_id ?? t("common.unknown")}</dd>
            <dt>{t("detail.added")}</dt>
            <dd>{a.created_time ? formatDateTime(a.created_time, locale) : t("common.unknown")}</dd>
            <dt>{t("detail.usage")}</dt>
            <dd>
              {t("accounts.uses", { n: a.use_count })} · {t("accounts.fails", { n: a.fail_count })} · {t("accounts.colUsed")}: {a.last_used ? formatRelative(a.last_used, now, { t }) : t("common.never")}
            </dd>
          </dl>

          <h3>{t("detail.quota")}</h3>
          {Object.keys(a.quota).length === 0 ? (
            <p className="muted">{t("detail.quotaNone")}</p>
          ) : (
            <ul className="bucket-list">
              {Object.entries(a.quota)
                .sort(([x], [y]) => (BUCKETS.indexOf(x as "fast") + 1 || 99) - (BUCKETS.indexOf(y as "fast") + 1 || 99) || x.localeCompare(y))
                .map(([b, q]) => (
                  <li key={b}>
                    <QuotaBar bucket={q} label={(BUCKETS as readonly string[]).includes(b) ? t(`bucket.${b as "fast"}`) : b} />
                    <span className="muted small">
                      {t(`confidence.${q.confidence}`)}
                      {q.syncedAt ? ` · ${t("detail.synced", { when: formatRelative(q.syncedAt, now, { t }) })}` : ""}
                      {q.resetAt && q.resetAt > now ? (
                        <>
                          {" · "}
                          {t("quota.resetsIn")} 
                          <Countdown target={q.resetAt} />
                        </>
                      ) : null}
                    </span>
                  </li>
                ))}
            </ul>
          )}

          <h3>{t("detail.failures")}</h3>
          {a.failures.length === 0 ? (
            <p className="muted">{t("detail.failuresNone")}</p>
          ) : (
            <div className="table-wrap">
              <table className="table" id="detail-failures">
                <thead>
                  <tr>
                    <th scope="col">{t("detail.failureAt")}</th>
                    <th scope="col">{t("detail.failureKind")}</th>
                    <th scope="col">{t("detail.failureMessage")}</th>
                  </tr>
                </thead>
                <tbody>
                  {[...a.failures].reverse().map((f, i) => (
                    <tr key={`${f.at}-${i}`}>
                      <td data-label={t("detail.failureAt")}>{formatDateTime(f.at, locale)}</td>
                      <td data-label={t("detail.failureKind")}>
                        <code>{f.kind}</code>
                      </td>
                      <td data-label={t("detail.failureMessage")}>{f.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </Dialog>
  );
}
