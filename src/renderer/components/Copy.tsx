import { useState } from "react";
import { useI18n } from "../i18n";
import { useToast } from "./Toasts";

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useI18n();
  const toast = useToast();
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-small"
      onClick={async () => {
        if (await copyText(text)) {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        } else toast(t("common.copyFailed"), "error");
      }}
    >
      {done ? t("common.copied") : (label ?? t("common.copy"))}
    </button>
  );
}

/** A read-only value with a copy button; secrets can be revealed. */
export function CopyField({ id, label, value, secret }: { id: string; label: string; value: string; secret?: boolean }) {
  const { t } = useI18n();
  const [shown, setShown] = useState(!secret);
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        <input id={id} readOnly value={value} type={shown ? "text" : "password"} className="mono" onFocus={(e) => e.currentTarget.select()} />
        {secret ? (
          <button type="button" className="btn btn-small" onClick={() => setShown((s) => !s)} aria-pressed={shown}>
            {shown ? t("common.hide") : t("common.show")}
          </button>
        ) : null}
        <CopyButton text={value} />
      </div>
    </div>
  );
}

export function CodeBlock({ code }: { code: string }) {
  return (
    <div className="code-block">
      <pre>
        <code>{code}</code>
      </pre>
      <CopyButton text={code} />
    </div>
  );
}
