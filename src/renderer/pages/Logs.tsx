import { Fragment, useEffect, useMemo, useState } from "react";
import type { RequestLogEntry, RequestLogPage } from "../../shared/admin-api";
import { useI18n } from "../i18n";
import { get, streamEvents } from "../lib/api";
import { formatDateTime, formatTime } from "../lib/format";
import { useLoad } from "../components/hooks";
import { Empty, ErrorBox, Loading } from "../components/States";

const MAX_ROWS = 1000;

type Live = "live" | "paused" | "reconnecting";

export function matchesLog(e: RequestLogEntry, f: { text: string; protocol: string; status: "" | "ok" | "error" }): boolean {
  if (f.protocol && e.protocol !== f.protocol) return false;
  const failed = e.status >= 400 || e.error !== null;
  if (f.status === "ok" && failed) return false;
  if (f.status === "error" && !failed) return false;
  const q = f.text.trim().toLowerCase();
  if (!q) return true;
  return [e.id, e.model, e.served_model, e.account, e.path, e.error?.code, ...e.attempts.map((a) => a.account)].some((x) => x && x.toLowerCase().includes(q));
}

/** Recent requests, filterable, live while the page is open (SSE over fetch), redacted by the server. */
export function Logs() {
  const { t, locale } = useI18n();
  const d = useLoad(() => get<{ data: RequestLogPage }>("/api/logs?limit=500").then((r) => r.data));
  const [entries, setEntries] = useState<RequestLogEntry[]>([]);
  const [live, setLive] = useState<Live>("live");
  const [filter, setFilter] = useState<{ text: string; protocol: string; status: "" | "ok" | "error" }>({ text: "", protocol: "", status: "" });
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    if (d.data) setEntries(d.data.entries);
  }, [d.data]);

  useEffect(() => {
    if (live === "paused" || !d.data) return;
    const ctrl = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      streamEvents(
        "/api/logs/stream",
        (event, data) => {
          if (event === "entry") {
            const e = JSON.parse(data) as RequestLogEntry;
            setEntries((l) => [e, ...l.filter((x) => x.id !== e.id)].slice(0, MAX_ROWS));
            setLive("live");
          }
        },
        ctrl.signal,
      )
        .catch(() => {})
        .finally(() => {
          if (ctrl.signal.aborted) return;
          setLive("reconnecting");
          retry = setTimeout(connect, 3000);
        });
    };
    connect();
    return () => {
      ctrl.abort();
      clearTimeout(retry);
    };
  }, [live === "paused", d.data]); // eslint-disable-line react-hooks/exhaustive-deps

  const protocols = useMemo(() => [...new Set(entries.map((e) => e.protocol))].sort(), [entries]);
  const shown = useMemo(() => entries.filter((e) => matchesLog(e, filter)), [entries, filter]);

  return (
    <section aria-labelledby="logs-title" className="page">
      <div className="page-head">
        <h1 id="logs-title">{t("logs.title")}</h1>
        <span className={`badge ${live === "live" ? "badge-active" : live === "paused" ? "badge-muted" : "badge-cooling"}`} id="live-state" aria-live="polite">
          {live === "live" ? t("logs.live") : live === "paused" ? t("logs.paused") : t("logs.reconnecting")}
        </span>
        <button type="button" className="btn" id="live-toggle" aria-pressed={live === "paused"} onClick={() => setLive((l) => (l === "paused" ? "live" : "paused"))}>
          {live === "paused" ? t("logs.resume") : t("logs.pause")}
        </button>
      </div>
      <p className="muted">{t("logs.intro")}</p>
      {d.data ? (
        <p className="muted small" id="logs-kept">
          {t("logs.kept", { n: d.data.capacity, hours: d.data.retention_hours })}
          {d.data.file ? ` ${t("logs.keptFile", { file: `logs/${d.data.file}` })}` : ""}
          {d.data.prompts ? ` ${t("logs.promptsOn")}` : ""}
        </p>
      ) : null}
      <div className="card">
        <div className="toolbar" role="search">
          <label className="tool">
            <span>{t("logs.filter")}</span>
            <input id="log-filter" type="search" value={filter.text} placeholder={t("logs.filterPlaceholder")} onChange={(e) => setFilter((f) => ({ ...f, text: e.target.value }))} />
          </label>
          <label className="tool">
            <span>{t("logs.protocol")}</span>
            <select id="log-protocol" value={filter.protocol} onChange={(e) => setFilter((f) => ({ ...f, protocol: e.target.value }))}>
              <option value="">{t("common.all")}</option>
              {protocols.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label className="tool">
            <span>{t("logs.status")}</span>
            <select id="log-status" value={filter.status} onChange={(e) => setFilter((f) => ({ ...f, status: e.target.value as "" | "ok" | "error" }))}>
              <option value="">{t("common.all")}</option>
              <option value="ok">{t("logs.statusOk")}</option>
              <option value="error">{t("logs.statusError")}</option>
            </select>
          </label>
        </div>
        {!d.data ? (
          d.error ? <ErrorBox error={d.error} onRetry={() => void d.reload()} /> : <Loading />
        ) : entries.length === 0 ? (
          <Empty title={t("logs.empty")} />
        ) : shown.length === 0 ? (
          <Empty title={t("logs.noMatch")} />
        ) : (
          <div className="table-wrap">
            <table className="table logs-table" id="logs-table">
              <thead>
                <tr>
                  <th scope="col">{t("logs.colTime")}</th>
                  <th scope="col">{t("logs.colProtocol")}</th>
                  <th scope="col">{t("logs.colModel")}</th>
                  <th scope="col">{t("logs.colAccount")}</th>
                  <th scope="col">{t("logs.colStatus")}</th>
                  <th scope="col">{t("logs.colDuration")}</th>
                  <th scope="col">{t("logs.colSteps")}</th>
                </tr>
              </thead>
              <tbody id="logs-body">
                {shown.map((e) => {
                  const failed = e.status >= 400 || e.error !== null;
                  const isOpen = open === e.id;
                  return (
                    <Fragment key={e.id}>
                      <tr className={failed ? "row-error" : ""} data-id={e.id}>
                        <td data-label={t("logs.colTime")}>
                          <button type="button" className="btn-link" aria-expanded={isOpen} aria-label={t("logs.expand", { id: e.id })} onClick={() => setOpen(isOpen ? null : e.id)}>
                            <time dateTime={new Date(e.time).toISOString()} title={formatDateTime(e.time, locale)}>
                              {formatTime(e.time, locale)}
                            </time>
                          </button>
                        </td>
                        <td data-label={t("logs.colProtocol")}>
                          {e.protocol}
                          {e.stream ? <span className="muted small"> · {t("logs.stream")}</span> : null}
                        </td>
                        <td data-label={t("logs.colModel")} className="mono">
                          {e.model ?? "—"}
                        </td>
                        <td data-label={t("logs.colAccount")} className="mono">
                          {e.account ?? "—"}
                        </td>
                        <td data-label={t("logs.colStatus")}>
                          <span className={`badge ${failed ? "badge-dead" : "badge-active"}`}>{e.status}</span>
                          {e.error ? <span className="small"> {e.error.code}</span> : null}
                        </td>
                        <td data-label={t("logs.colDuration")}>{t("time.ms", { n: e.duration_ms })}</td>
                        <td data-label={t("logs.colSteps")}>
                          {e.attempts.length ? t("logs.steps", { n: e.attempts.length }) : "—"}
                          {e.queue ? <span className="muted small"> · {t("logs.queued", { ms: e.queue.waited_ms })}</span> : null}
                        </td>
                      </tr>
                      {isOpen ? (
                        <tr className="log-detail">
                          <td colSpan={7}>
                            <dl className="facts">
                              <dt>{t("logs.requestId")}</dt>
                              <dd className="mono">{e.id}</dd>
                              <dt>{t("logs.path")}</dt>
                              <dd className="mono">{e.path}</dd>
                              {e.served_model ? (
                                <>
                                  <dt>{t("logs.colModel")}</dt>
                                  <dd>{t("logs.served", { model: e.served_model })}</dd>
                                </>
                              ) : null}
                              {e.attempts.length ? (
                                <>
                                  <dt>{t("logs.colSteps")}</dt>
                                  <dd>
                                    <ol className="steps">
                                      {e.attempts.map((a, i) => (
                                        <li key={i}>
                                          {t("logs.step", { account: a.account, outcome: a.outcome === "ok" ? t("logs.outcome.ok") : a.outcome === "aborted" ? t("logs.outcome.aborted") : a.outcome })}
                                          {a.message ? <span className="muted"> — {a.message}</span> : null}
                                        </li>
                                      ))}
                                    </ol>
                                  </dd>
                                </>
                              ) : null}
                              {e.queue ? (
                                <>
                                  <dt>{t("logs.queue")}</dt>
                                  <dd>{t("logs.queueDetail", { outcome: e.queue.outcome, ms: e.queue.waited_ms })}</dd>
                                </>
                              ) : null}
                              {e.error ? (
                                <>
                                  <dt>{t("logs.error")}</dt>
                                  <dd>
                                    <code>{e.error.code}</code> {e.error.message}
                                  </dd>
                                </>
                              ) : null}
                              {e.prompt ? (
                                <>
                                  <dt>{t("logs.prompt")}</dt>
                                  <dd>
                                    <pre className="prompt">{e.prompt}</pre>
                                  </dd>
                                </>
                              ) : null}
                            </dl>
                          </td>
                        </tr>
                      ) : null}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </section>
  );
}
