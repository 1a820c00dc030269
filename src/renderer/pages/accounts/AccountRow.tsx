import type { TokenInfo } from "../../../shared/admin-api";
import { useI18n } from "../../i18n";
import { formatRelative, maskToken } from "../../lib/format";
import { QuotaBar } from "../../components/QuotaBar";
import { InlineEdit } from "../../components/InlineEdit";

export type TestResult = { ok: boolean; text: string };

/** One account in the accounts table: selection, state, quota, editable tags and note, actions. */
export function AccountRow({
  account: a,
  now,
  selected,
  result: r,
  busy,
  onSelect,
  onTagClick,
  onSaveTags,
  onSaveNote,
  onTest,
  onDetail,
  onSetDisabled,
  onDelete,
}: {
  account: TokenInfo;
  now: number;
  selected: boolean;
  result: TestResult | undefined;
  /** A test of this account is running. */
  busy: boolean;
  onSelect: (checked: boolean) => void;
  onTagClick: (tag: string) => void;
  onSaveTags: (text: string) => Promise<void>;
  onSaveNote: (note: string) => Promise<void>;
  onTest: () => void;
  onDetail: () => void;
  onSetDisabled: (disabled: boolean) => void;
  onDelete: () => void;
}) {
  const { t } = useI18n();
  const m = maskToken(a.token);
  const stateLabel = a.status === "未使用" && a.state === "active" ? t("state.unused") : t(`state.${a.state}`);
  return (
    <tr data-account={m} className={`row-${a.state}`}>
      <td className="col-check">
        <input type="checkbox" aria-label={t("accounts.select", { account: m })} checked={selected} onChange={(e) => onSelect(e.target.checked)} />
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
          onSave={onSaveTags}
          display={
            a.tags.length ? (
              <span className="chips">
                {a.tags.map((tag) => (
                  <button key={tag} type="button" className="chip" onClick={() => onTagClick(tag)}>
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
          onSave={onSaveNote}
          display={<span className="note-text">{a.note}</span>}
        />
      </td>
      <td className="used" data-label={t("accounts.colUsed")}>
        {a.last_used ? formatRelative(a.last_used, now, { t }) : <span className="muted">{t("common.never")}</span>}
      </td>
      <td className="actions" data-label={t("accounts.colActions")}>
        <button type="button" className="btn btn-small" onClick={onTest} disabled={busy}>
          {busy ? t("accounts.testing") : t("accounts.test")}
        </button>
        <button type="button" className="btn btn-small" onClick={onDetail}>
          {t("accounts.details")}
        </button>
        {a.state === "disabled" ? (
          <button type="button" className="btn btn-small" onClick={() => onSetDisabled(false)}>
            {t("accounts.enable")}
          </button>
        ) : (
          <button type="button" className="btn btn-small" onClick={() => onSetDisabled(true)}>
            {t("accounts.disable")}
          </button>
        )}
        <button type="button" className="btn btn-small btn-danger" onClick={onDelete}>
          {t("accounts.delete")}
        </button>
      </td>
    </tr>
  );
}
