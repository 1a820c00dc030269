import { useMemo, useState } from "react";
import type { BulkTestResult, TokenListResponse } from "../../shared/admin-api";
import { useI18n } from "../i18n";
import { download, get, post } from "../lib/api";
import { allTags, type AccountFilter, EMPTY_FILTER, filterAccounts, parseTags, type SortKey, sortAccounts } from "../lib/accounts";
import { maskToken } from "../lib/format";
import { useLoad, useNow } from "../components/hooks";
import { Empty, ErrorBox, errorText, Loading } from "../components/States";
import { ConfirmDialog } from "../components/Dialog";
import { useToast } from "../components/Toasts";
import { AccountDetail } from "./AccountDetail";
import { AccountRow, type TestResult } from "./accounts/AccountRow";
import { AccountsToolbar } from "./accounts/AccountsToolbar";
import { AddPanel } from "./accounts/AddPanel";
import { BulkBar } from "./accounts/BulkBar";
import { ImportPanel } from "./accounts/ImportPanel";

const PAGE_SIZE = 50;

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
  const [results, setResults] = useState<Record<string, TestResult>>({});
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
        <AccountsToolbar filter={filter} onFilter={setF} tags={tags} sort={sort} onSort={setSort} />

        <BulkBar
          shown={shown.length}
          total={accounts.length}
          selected={selectedShown.map((a) => a.token)}
          onTest={(tokens) => void test(tokens)}
          onEnable={(tokens) => void setDisabled(tokens, false)}
          onDisable={(tokens) => setPending({ kind: "disable", tokens })}
          onDelete={(tokens) => setPending({ kind: "delete", tokens })}
        />

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
                  {pageRows.map((a) => (
                    <AccountRow
                      key={a.token}
                      account={a}
                      now={now}
                      selected={selected.has(a.token)}
                      result={results[a.token]}
                      busy={testing.has(a.token)}
                      onSelect={(checked) => setSelected((s) => {
                        const n = new Set(s);
                        checked ? n.add(a.token) : n.delete(a.token);
                        return n;
                      })}
                      onTagClick={(tag) => setF({ tag })}
                      onSaveTags={(v) => saveTags(a.token, v)}
                      onSaveNote={(v) => saveNote(a.token, v)}
                      onTest={() => void test([a.token])}
                      onDetail={() => setDetail(a.token)}
                      onSetDisabled={(disabled) => void setDisabled([a.token], disabled)}
                      onDelete={() => setPending({ kind: "delete", tokens: [a.token] })}
                    />
                  ))}
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
