import { useState } from "react";
import { useI18n } from "../../i18n";
import { post } from "../../lib/api";
import { parseCookies } from "../../lib/accounts";
import { errorText } from "../../components/States";

/** The form that adds accounts from pasted cookies / tokens. */
export function AddPanel({ onAdded }: { onAdded: () => void }) {
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
