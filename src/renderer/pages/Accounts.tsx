import { useMemo, useRef, useState } from "react";
import type { BulkTestResult, ImportResult, TokenInfo, TokenListResponse } from "../../shared/admin-api";
import { useI18n } from "../i18n";
import { ApiError, download, get, post } from "../lib/api";
import { allTags, type AccountFilter, EMPTY_FILTER, filterAccounts, parseCookies, parseTags, type SortKey, sortAccounts } from "../lib/accounts";
import { formatRelative, maskToken } from "../lib/format";
import { useLoad, useNow } from "../components/hooks";
import { Empty, ErrorBox, errorText, Loading } from "../components/States";
import { QuotaBar } from "../components/QuotaBar";
import { ConfirmDialog } from "../components/Dialog";
import { InlineEdit } from "../components/InlineEdit";
import { useToast } from "../components/Toasts";
import { AccountDetail } from "./AccountDetail";

const PAGE_SIZE = 50;
const STATES: TokenInfo["state"][] = ["active", "cooling", "dead", "disabled"];
const TIERS: TokenInfo["tier"][] = ["basic", "super", "heavy"];

type Pending = { kind: "delete" | "disable"; tokens: string[] } | null;

/** Runs fn over items, `n` at a time. */
async function pooled<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

export function Accounts() {
  const { t } = useI18n();
  const toast = useToast();
  const list = useLoad(() => get<TokenListResponse>("/api/tokens").then((r) => r.data));
  const [filter, setFilter] = useState<AccountFilter>(EMPTY_FILTER);
  const [sort, setSort] = useState<SortKey>("state");
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [testing, setTesting] = useState<Set<string>>(new Set());
  const [results, setResults] = useState<Record<string, { ok: boolean; text: string }>>({});
  const [pending, setPending] = useState<Pending>(null);
  const [detail, setDetail] = useState<string | null>(null);
  const now = useNow(10_000);

  const accounts = list.data ?? [];
  const tags = useMemo(() => allTags(accounts), [accounts]);
  const shown = useMemo(() => sortAccounts(filterAccounts(accounts, filter, maskToken), sort), [accounts, filter, sort]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const pageRows = shown.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
  const selectedShown = shown.filter((a) => selected.has(a.token));

  const setF = (patch: Partial<AccountFilter>) => {
    setFilter((f) => ({ ...f, ...patch }));
    setPage(0);
  };
  const fail = (err: unknown) => toast(errorText(err, t), "error");

  const test = async (tokens: string[]) => {
    setTesting((s) => new Set([...s, ...tokens]));
    try {
      if (tokens.length === 1) {
        const token = tokens[0]!;
        const r = await post<{ success: boolean; message: string; data: { remaining_queries?: number } }>("/api/tokens/test", { token });
        const text = r.success ? t("accounts.testOk", { account: maskToken(token), remaining: r.data.remaining_queries ?? "?" }) : t("accounts.testFailed", { account: maskToken(token), message: r.message });
        setResults((m) => ({ ...m, [token]: { ok: r.success, text } }));
        toast(text, r.success ? "ok" : "error");
      } else {
        const r = await post<{ data: { total: number; valid: number; results: BulkTestResult[] } }>("/api/tokens/test/bulk", { tokens });
        setResults((m) => {
          const next = { ...m };
          for (const x of r.data.results) next[x.token] = { ok: x.valid, text: x.valid ? t("accounts.testValid", { account: maskToken(x.token) }) : t("accounts.testFailed", { account: maskToken(x.token), message: x.message }) };
          return next;
        });
        toast(t("accounts.bulkTested", { valid: r.data.valid, total: r.data.total }), r.data.valid === r.data.total ? "ok" : "error");
      }
      await list.reload();
    } catch (err) {
      fail(err);
    } finally {
      setTesting((s) => new Set([...s].filter((x) => !tokens.includes(x))));
    }
  };

  const setDisabled = async (tokens: string[], disabled: boolean) => {
    try {
      await pooled(tokens, 4, async (token) => void (await post("/api/tokens/update", { token, disabled })));
      toast(t("accounts.updated", { n: tokens.length }));
    } catch (err) {
      fail(err);
    }
    await list.reload();
  };

  const remove = async (tokens: string[]) => {
    try {
      const r = await post<{ count: number }>("/api/tokens/delete", { tokens });
      toast(t("accounts.deleted", { n: r.count }));
      setSelected((s) => new Set([...s].filter((x) => !tokens.includes(x))));
    } catch (err) {
      fail(err);
    }
    await list.reload();
  };

  const saveTags = async (token: string, text: string) => {
    try {
      await post("/api/tokens/tags", { token, tags: parseTags(text) });
      await list.reload();
    } catch (err) {
      fail(err);
      throw err;
    }
  };
  const saveNote = async (token: string, note: string) => {
    try {
      await post("/api/tokens/note", { token, note });
      await list.reload();
    } catch (err) {
      fail(err);
      throw err;
    }
  };

  const allPageSelected = pageRows.length > 0 && pageRows.every((a) => selected.has(a.token));

  return (
    <section aria-labelledby="accounts-title" className="page">
      <div className="page-head">
        <h1 id="accounts-title">{t("accounts.title")}</h1>
        <button type="button" className="btn" id="refresh" onClick={() => void list.reload()} disabled={list.loading}>
          {t("common.refresh")}
        </button>
      </div>

      <div className="grid-2">
        <AddPanel onAdded={() => void list.reload()} />
        <div className="card">
          <ImportPanel onImported={() => void list.reload()} />
          <h2>{t("accounts.export")}</h2>
          <ul className="export-links">
            <li>
              <a href="/api/tokens/export?format=json" download id="export-json" onClick={(e) => void download("/api/tokens/export?format=json", e).catch(fail)}>
                {t("accounts.exportJson")}
              </a>
            </li>
            <li>
              <a href="/api/tokens/export?format=legacy" download id="export-legacy" onClick={(e) => void download("/api/tokens/export?format=legacy", e).catch(fail)}>
                {t("accounts.exportLegacy")}
              </a>
            </li>
            <li>
              <a href="/api/tokens/export?format=txt" download id="export-txt" onClick={(e) => void download("/api/tokens/export?format=txt", e).catch(fail)}>
                {t("accounts.exportTxt")}
              </a>
            </li>
          </ul>
        </div>
      </div>

      <div className="card">
        <div className="toolbar" role="search">
          <label className="tool">
            <span>{t("accounts.search")}</span>
            <input id="filter" type="search" value={filter.text} placeholder={t("accounts.searchPlaceholder")} onChange={(e) => setF({ text: e.target.value })} />
          </label>
          <label className="tool">
            <span>{t("accounts.filterState")}</span>
            <select id="filter-state" value={filter.state} onChange={(e) => setF({ state: e.target.value as AccountFilter["state"] })}>
              <option value="">{t("common.all")}</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {t(`state.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <label className="tool">
            <span>{t("accounts.filterTier")}</span>
            <select id="filter-tier" value={filter.tier} onChange={(e) => setF({ tier: e.target.value as AccountFilter["tier"] })}>
              <option value="">{t("common.all")}</option>
              {TIERS.map((s) => (
                <option key={s} value={s}>
                  {t(`tier.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <label className="tool">
            <span>{t("accounts.filterTag")}</span>
            <select id="filter-tag" value={filter.tag} onChange={(e) => setF({ tag: e.target.value })}>
              <option value="">{t("common.all")}</option>
              {tags.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="tool">
            <span>{t("accounts.sort")}</span>
            <select id="sort" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
              <option value="state">{t("accounts.sortState")}</option>
              <option value="added">{t("accounts.sortAdded")}</option>
              <option value="used">{t("accounts.sortUsed")}</option>
              <option value="quota">{t("accounts.sortQuota")}</option>
              <option value="failures">{t("accounts.sortFailures")}</option>
            </select>
          </label>
        </div>

        <div className="bulkbar">
          <span id="shown-count" className="muted">
            {t("accounts.shown", { shown: shown.length, total: accounts.length })}
          </span>
          {selectedShown.length ? (
            <>
              <strong id="selected-count">{t("accounts.selected", { n: selectedShown.length })}</strong>
              <button type="button" className="btn btn-small" id="bulk-test" onClick={() => void test(selectedShown.map((a) => a.token))}>
                {t("accounts.bulkTest")}
              </button>
              <button type="button" className="btn btn-small" id="bulk-enable" onClick={() => void setDisabled(selectedShown.map((a) => a.token), false)}>
                {t("accounts.bulkEnable")}
              </button>
              <button type="button" className="btn btn-small" id="bulk-disable" onClick={() => setPending({ kind: "disable", tokens: selectedShown.map((a) => a.token) })}>
                {t("accounts.bulkDisable")}
              </button>
              <button type="button" className="btn btn-small btn-danger" id="bulk-delete" onClick={() => setPending({ kind: "delete", tokens: selectedShown.map((a) => a.token) })}>
                {t("accounts.bulkDelete")}
              </button>
            </>
          ) : null}
        </div>

        {!list.data ? (
          list.error ? <ErrorBox error={list.error} onRetry={() => void list.reload()} /> : <Loading />
        ) : accounts.length === 0 ? (
          <Empty title={t("accounts.empty")} />
        ) : shown.length === 0 ? (
          <Empty title={t("accounts.noMatch")} action={<button type="button" className="btn" onClick={() => setF(EMPTY_FILTER)}>{t("accounts.clearFilters")}</button>} />
        ) : (
          <>
            {list.error ? <ErrorBox error={list.error} onRetry={() => void list.reload()} /> : null}
            <div className="table-wrap">
              <table className="table accounts-table" id="accounts-table">
                <thead>
                  <tr>
                    <th scope="col" className="col-check">
                      <input
                        type="checkbox"
                        aria-label={t("accounts.selectAll")}
                        checked={allPageSelected}
                        onChange={(e) => setSelected((s) => {
                          const n = new Set(s);
                          for (const a of pageRows) e.target.checked ? n.add(a.token) : n.delete(a.token);
                          return n;
                        })}
                      />
                    </th>
                    <th scope="col">{t("accounts.colAccount")}</th>
                    <th scope="col">{t("accounts.colState")}</th>
                    <th scope="col">{t("accounts.colQuota")}</th>
                    <th scope="col">{t("accounts.colTags")}</th>
                    <th scope="col">{t("accounts.colNote")}</th>
                    <th scope="col">{t("accounts.colUsed")}</th>
                    <th scope="col">{t("accounts.colActions")}</th>
                  </tr>
                </thead>
                <tbody id="accounts-body">
                  {pageRows.map((a) => {
                    const m = maskToken(a.token);
                    const r = results[a.token];
                    const busy = testing.has(a.token);
                    const stateLabel = a.status === "未使用" && a.state === "active" ? t("state.unused") : t(`state.${a.state}`);
                    return (
                      <tr key={a.token} data-account={m} className={`row-${a.state}`}>
                        <td className="col-check">
                          <input type="checkbox" aria-label={t("accounts.select", { account: m })} checked={selected.has(a.token)} onChange={(e) => setSelected((s) => {
                            const n = new Set(s);
                            e.target.checked ? n.add(a.token) : n.delete(a.token);
                            return n;
                          })} />
                        </td>
                        <td className="token" data-label={t("accounts.colAccount")}>
                          <code className="mono">{m}</code>
                          <span className="muted tier">
                            {t(`tier.${a.tier}`)}
                          </span>
                        </td>
                        <td className="state" data-label={t("accounts.colState")}>
                          <span className={`badge badge-${a.state}`} title={a.status_reason || undefined}>
                            {stateLabel}
                          </span>
                          {a.state === "cooling" && a.cooldown_until ? <span className="muted small"> {t("accounts.cooldownUntil", { when: formatRelative(a.cooldown_until, now, { t }) })}</span> : null}
                          {r ? (
                            <span className={`test-result ${r.ok ? "msg-ok" : "msg-error"}`} role="status">
                              {r.ok ? "✓" : "✗"}
                            </span>
                          ) : null}
                        </td>
                        <td className="quota-cell" data-label={t("accounts.colQuota")}>
                          <QuotaBar bucket={a.quota.fast} />
                        </td>
                        <td className="tags" data-label={t("accounts.colTags")}>
                          <InlineEdit
                            value={a.tags.join(", ")}
                            label={t("accounts.tagsEdit", { account: m })}
                            editLabel={t("accounts.tagsEdit", { account: m })}
                            placeholder={t("accounts.tagsPlaceholder")}
                            onSave={(v) => saveTags(a.token, v)}
                            display={
                              a.tags.length ? (
                                <span className="chips">
                                  {a.tags.map((tag) => (
                                    <button key={tag} type="button" className="chip" onClick={() => setF({ tag })}>
                                      {tag}
                                    </button>
                                  ))}
                                </span>
                              ) : (
                                <span className="muted small">{t("accounts.noTags")}</span>
                              )
                            }
                          />
                        </td>
                        <td className="note" data-label={t("accounts.colNote")}>
                          <InlineEdit
                            value={a.note}
                            label={t("accounts.noteEdit", { account: m })}
                            editLabel={t("accounts.noteEdit", { account: m })}
                            placeholder={t("accounts.notePlaceholder")}
                            onSave={(v) => saveNote(a.token, v)}
                            display={<span className="note-text">{a.note}</span>}
                          />
                        </td>
                        <td className="used" data-label={t("accounts.colUsed")}>
                          {a.last_used ? formatRelative(a.last_used, now, { t }) : <span className="muted">{t("common.never")}</span>}
                        </td>
                        <td className="actions" data-label={t("accounts.colActions")}>
                          <button type="button" className="btn btn-small" onClick={() => void test([a.token])} disabled={busy}>
                            {busy ? t("accounts.testing") : t("accounts.test")}
                          </button>
                          <button type="button" className="btn btn-small" onClick={() => setDetail(a.token)}>
                            {t("accounts.details")}
                          </button>
                          {a.state === "disabled" ? (
                            <button type="button" className="btn btn-small" onClick={() => void setDisabled([a.token], false)}>
                              {t("accounts.enable")}
                            </button>
                          ) : (
                            <button type="button" className="btn btn-small" onClick={() => void setDisabled([a.token], true)}>
                              {t("accounts.disable")}
                            </button>
                          )}
                          <button type="button" className="btn btn-small btn-danger" onClick={() => setPending({ kind: "delete", tokens: [a.token] })}>
                            {t("accounts.delete")}
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {pages > 1 ? (
              <nav className="pager" aria-label={t("common.page", { page: current + 1, pages })}>
                <button type="button" className="btn btn-small" disabled={current === 0} onClick={() => setPage(current - 1)}>
                  {t("common.prev")}
                </button>
                <span>{t("common.page", { page: current + 1, pages })}</span>
                <button type="button" className="btn btn-small" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
                  {t("common.next")}
                </button>
              </nav>
            ) : null}
          </>
        )}
      </div>

      <ConfirmDialog
        open={pending !== null}
        danger
        title={pending?.kind === "disable" ? t("accounts.confirmDisableTitle") : t("accounts.confirmDeleteTitle")}
        confirmLabel={pending?.kind === "disable" ? t("accounts.bulkDisable") : t("accounts.bulkDelete")}
        onCancel={() => setPending(null)}
        onConfirm={() => {
          const p = pending;
          setPending(null);
          if (!p) return;
          if (p.kind === "delete") void remove(p.tokens);
          else void setDisabled(p.tokens, true);
        }}
      >
        <p>{pending?.kind === "disable" ? t("accounts.confirmDisable") : t("accounts.confirmDelete")}</p>
        <ul className="confirm-list" id="confirm-list">
          {(pending?.tokens ?? []).slice(0, 20).map((tok) => (
            <li key={tok}>
              <code className="mono">{maskToken(tok)}</code>
            </li>
          ))}
        </ul>
        {pending && pending.tokens.length > 20 ? <p className="muted">{t("accounts.confirmMore", { n: pending.tokens.length - 20 })}</p> : null}
      </ConfirmDialog>

      {detail ? <AccountDetail token={detail} onClose={() => setDetail(null)} onChanged={() => void list.reload()} /> : null}
    </section>
  );
}

function AddPanel({ onAdded }: { onAdded: () => void }) {
  const { t } = useI18n();
  const [text, setText] = useState("");
  const [type, setType] = useState<"sso" | "ssoSuper">("sso");
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  return (
    <form
      className="card"
      onSubmit={async (e) => {
        e.preventDefault();
        const tokens = parseCookies(text);
        if (!tokens.length) {
          setMsg({ ok: false, text: t("accounts.addEmpty") });
          return;
        }
        setBusy(true);
        try {
          const r = await post<{ added: number; existing: number }>("/api/tokens/add", { tokens, token_type: type });
          setMsg({ ok: true, text: t("accounts.added", { added: r.added, existing: r.existing }) });
          setText("");
          onAdded();
        } catch (err) {
          setMsg({ ok: false, text: errorText(err, t) });
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{t("accounts.add")}</h2>
      <p className="muted small">{t("accounts.addHelp")}</p>
      <label htmlFor="add-tokens" className="sr-only">
        {t("accounts.addLabel")}
      </label>
      <textarea id="add-tokens" className="mono" rows={4} spellCheck={false} autoComplete="off" value={text} onChange={(e) => setText(e.target.value)} />
      <div className="row">
        <label htmlFor="add-type">{t("accounts.addType")}</label>
        <select id="add-type" value={type} onChange={(e) => setType(e.target.value as "sso" | "ssoSuper")}>
          <option value="sso">{t("accounts.typeSso")}</option>
          <option value="ssoSuper">{t("accounts.typeSuper")}</option>
        </select>
        <button type="submit" className="btn btn-primary" id="add-submit" disabled={busy}>
          {t("accounts.addSubmit")}
        </button>
      </div>
      {msg ? (
        <p id="add-msg" className={msg.ok ? "msg-ok" : "msg-error"} role={msg.ok ? "status" : "alert"}>
          {msg.text}
        </p>
      ) : null}
    </form>
  );
}

function ImportPanel({ onImported }: { onImported: () => void }) {
  const { t } = useI18n();
  const [overwrite, setOverwrite] = useState(false);
  const [withSettings, setWithSettings] = useState(false);
  const [over, setOver] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const send = async (file: File) => {
    setMsg(null);
    try {
      const q = new URLSearchParams({ ...(overwrite ? { overwrite: "1" } : {}), ...(withSettings ? { settings: "1" } : {}) }).toString();
      const r = await post<{ data: ImportResult }>(`/api/tokens/import${q ? `?${q}` : ""}`, undefined, { text: await file.text() });
      setMsg({ ok: true, text: t("accounts.imported", { added: r.data.added, replaced: r.data.replaced, existing: r.data.existing, format: r.data.format }) });
      onImported();
    } catch (err) {
      setMsg({ ok: false, text: err instanceof ApiError ? err.message : errorText(err, t) });
    }
  };
  return (
    <div>
      <h2>{t("accounts.import")}</h2>
      <p className="muted small">{t("accounts.importHelp")}</p>
      <div
        className={`dropzone${over ? " dropzone-over" : ""}`}
        id="import-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const f = e.dataTransfer.files[0];
          if (f) void send(f);
        }}
      >
        <span>{t("accounts.importDrop")}</span>
        <button type="button" className="btn btn-small" onClick={() => input.current?.click()}>
          {t("accounts.importChoose")}
        </button>
        <input
          ref={input}
          id="import-file"
          type="file"
          accept=".json,.txt,application/json,text/plain"
          className="sr-only"
          tabIndex={-1}
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void send(f);
            e.target.value = "";
          }}
        />
      </div>
      <label className="check">
        <input type="checkbox" id="import-overwrite" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} />
        {t("accounts.importOverwrite")}
      </label>
      <label className="check">
        <input type="checkbox" id="import-settings" checked={withSettings} onChange={(e) => setWithSettings(e.target.checked)} />
        {t("accounts.importSettings")}
      </label>
      {msg ? (
        <p id="import-msg" className={msg.ok ? "msg-ok" : "msg-error"} role={msg.ok ? "status" : "alert"}>
          {msg.text}
        </p>
      ) : null}
    </div>
  );
}
