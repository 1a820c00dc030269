import { useI18n } from "../../i18n";

/** The shown / selected counts and the actions on every selected account. */
export function BulkBar({
  shown,
  total,
  selected,
  onTest,
  onEnable,
  onDisable,
  onDelete,
}: {
  shown: number;
  total: number;
  /** Tokens of the selected accounts that pass the filter. */
  selected: string[];
  onTest: (tokens: string[]) => void;
  onEnable: (tokens: string[]) => void;
  onDisable: (tokens: string[]) => void;
  onDelete: (tokens: string[]) => void;
}) {
  const { t } = useI18n();
  return (
    <div className="bulkbar">
      <span id="shown-count" className="muted">
        {t("accounts.shown", { shown, total })}
      </span>
      {selected.length ? (
        <>
          <strong id="selected-count">{t("accounts.selected", { n: selected.length })}</strong>
          <button type="button" className="btn btn-small" id="bulk-test" onClick={() => onTest(selected)}>
            {t("accounts.bulkTest")}
          </button>
          <button type="button" className="btn btn-small" id="bulk-enable" onClick={() => onEnable(selected)}>
            {t("accounts.bulkEnable")}
          </button>
          <button type="button" className="btn btn-small" id="bulk-disable" onClick={() => onDisable(selected)}>
            {t("accounts.bulkDisable")}
          </button>
          <button type="button" className="btn btn-small btn-danger" id="bulk-delete" onClick={() => onDelete(selected)}>
            {t("accounts.bulkDelete")}
          </button>
        </>
      ) : null}
    </div>
  );
}
