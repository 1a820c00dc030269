import { useRef, useState } from "react";
import type { ImportResult } from "../../../shared/admin-api";
import { useI18n } from "../../i18n";
import { ApiError, post } from "../../lib/api";
import { errorText } from "../../components/States";

/** Import of an exported account file, by drop or file picker. */
export function ImportPanel({ onImported }: { onImported: () => void }) {
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
