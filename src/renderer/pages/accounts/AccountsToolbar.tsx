import type { TokenInfo } from "../../../shared/admin-api";
import { useI18n } from "../../i18n";
import type { AccountFilter, SortKey } from "../../lib/accounts";

const STATES: TokenInfo["state"][] = ["active", "cooling", "dead", "disabled"];
const TIERS: TokenInfo["tier"][] = ["basic", "super", "heavy"];

/** Search box, state / tier / tag filters and the sort order of the accounts table. */
export function AccountsToolbar({
  filter,
  onFilter,
  tags,
  sort,
  onSort,
}: {
  filter: AccountFilter;
  onFilter: (patch: Partial<AccountFilter>) => void;
  tags: string[];
  sort: SortKey;
  onSort: (sort: SortKey) => void;
}) {
  const { t } = useI18n();
  return (
    <div className="toolbar" role="search">
      <label className="tool">
        <span>{t("accounts.search")}</span>
        <input id="filter" type="search" value={filter.text} placeholder={t("accounts.searchPlaceholder")} onChange={(e) => onFilter({ text: e.target.value })} />
      </label>
      <label className="tool">
        <span>{t("accounts.filterState")}</span>
        <select id="filter-state" value={filter.state} onChange={(e) => onFilter({ state: e.target.value as AccountFilter["state"] })}>
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
        <select id="filter-tier" value={filter.tier} onChange={(e) => onFilter({ tier: e.target.value as AccountFilter["tier"] })}>
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
        <select id="filter-tag" value={filter.tag} onChange={(e) => onFilter({ tag: e.target.value })}>
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
        <select id="sort" value={sort} onChange={(e) => onSort(e.target.value as SortKey)}>
          <option value="state">{t("accounts.sortState")}</option>
          <option value="added">{t("accounts.sortAdded")}</option>
          <option value="used">{t("accounts.sortUsed")}</option>
          <option value="quota">{t("accounts.sortQuota")}</option>
          <option value="failures">{t("accounts.sortFailures")}</option>
        </select>
      </label>
    </div>
  );
}
