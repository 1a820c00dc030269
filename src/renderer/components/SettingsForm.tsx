import { useEffect, useMemo, useRef, useState } from "react";
import type { SettingsData, SettingsIssue, SettingsSchemaData } from "../../shared/admin-api";
import { SETTINGS_GROUPS } from "../../shared/settings-meta";
import { useI18n } from "../i18n";
import { buildForm, type Change, diffDraft, displayValue, type Draft, type FieldError, type FormField, initialDraft, patchBody } from "../lib/settings-form";

export interface SettingsFormProps {
  schema: SettingsSchemaData;
  values: SettingsData;
  /** Server-side check of the patch with the real schema (POST /api/settings/validate). */
  validate: (body: ReturnType<typeof patchBody>) => Promise<SettingsIssue[]>;
  /** Stores the patch (POST /api/settings); throws with the server's message when refused. */
  save: (body: ReturnType<typeof patchBody>) => Promise<void>;
  /** After a successful save (reload the values). */
  onSaved?: (changes: Change[]) => void;
  /** Debounce of the server check while typing. */
  checkDelayMs?: number;
}

const fieldId = (f: FormField) => `set-${f.section}-${f.name}`;

/**
 * Every setting, grouped, each with its label, explanation, default and key; checked locally as
 * you type (kind, limits, options from the schema) and then by the server's own schema; Save
 * names the number of changes and, once stored, lists what changed.
 */
export function SettingsForm({ schema, values, validate, save, onSaved, checkDelayMs = 350 }: SettingsFormProps) {
  const { t, pick } = useI18n();
  const groups = useMemo(() => buildForm(schema), [schema]);
  const [draft, setDraft] = useState<Draft>(() => initialDraft(groups, values));
  const [serverIssues, setServerIssues] = useState<Record<string, string>>({});
  const [checking, setChecking] = useState(false);
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<{ tone: "ok" | "error"; text: string; changes?: Change[] } | null>(null);
  const check = useRef(0);

  useEffect(() => setDraft(initialDraft(groups, values)), [groups, values]);

  const { changes, errors } = useMemo(() => diffDraft(groups, values, draft), [groups, values, draft]);
  const localCount = Object.keys(errors).length;

  // The server's schema has the last word (URL formats, origin lists, model targets…).
  useEffect(() => {
    const id = ++check.current;
    if (!changes.length || localCount) {
      setServerIssues({});
      setChecking(false);
      return;
    }
    setChecking(true);
    const timer = setTimeout(() => {
      validate(patchBody(changes))
        .then((issues) => {
          if (id !== check.current) return;
          const by: Record<string, string> = {};
          for (const i of issues) by[i.field] ??= i.message;
          setServerIssues(by);
        })
        .catch(() => {
          if (id === check.current) setServerIssues({});
        })
        .finally(() => {
          if (id === check.current) setChecking(false);
        });
    }, checkDelayMs);
    return () => clearTimeout(timer);
  }, [changes, localCount, validate, checkDelayMs]);

  const errorOf = (f: FormField): string | null => {
    const e: FieldError | undefined = errors[f.key];
    if (e) return t(e.key, e.vars);
    return serverIssues[f.key] ?? null;
  };
  const invalid = localCount > 0 || Object.keys(serverIssues).length > 0;

  const set = (f: FormField, v: string | boolean) => {
    setResult(null);
    setDraft((d) => ({ ...d, [f.key]: v }));
  };

  const submit = async () => {
    if (!changes.length) return;
    if (invalid) {
      setResult({ tone: "error", text: t("settings.invalid") });
      return;
    }
    setSaving(true);
    try {
      await save(patchBody(changes));
      setResult({ tone: "ok", text: t("settings.saved", { n: changes.length }), changes });
      onSaved?.(changes);
    } catch (err) {
      const msg = (err as Error).message;
      // The server names the field (`Invalid setting grok.x: …`): mark it too.
      const m = /\b((?:global|grok)\.[a-z0-9_]+)/.exec(msg);
      if (m) setServerIssues((s) => ({ ...s, [m[1]!]: msg }));
      setResult({ tone: "error", text: msg });
    } finally {
      setSaving(false);
    }
  };

  const fromEnv = values.grok.api_key_from_env === true;

  const renderInput = (f: FormField) => {
    const v = draft[f.key];
    const err = errorOf(f);
    const common = { id: fieldId(f), "aria-invalid": err ? true : undefined, "aria-describedby": `${fieldId(f)}-help${err ? ` ${fieldId(f)}-err` : ""}` } as const;
    const readOnly = f.key === "grok.api_key" && fromEnv;
    switch (f.input) {
      case "checkbox":
        return <input {...common} type="checkbox" checked={v === true} onChange={(e) => set(f, e.target.checked)} />;
      case "select":
        return (
          <select {...common} value={String(v)} onChange={(e) => set(f, e.target.value)}>
            {(f.schema?.options ?? []).map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        );
      case "number":
        return <input {...common} type="number" inputMode="decimal" value={String(v)} min={f.schema?.min} max={f.schema?.max} step={f.schema?.int ? 1 : "any"} onChange={(e) => set(f, e.target.value)} />;
      case "json":
        return <textarea {...common} className="mono" rows={Math.min(12, String(v).split("\n").length + 1)} spellCheck={false} value={String(v)} onChange={(e) => set(f, e.target.value)} />;
      case "password":
        return <input {...common} type="password" autoComplete={f.name === "admin_password" ? "new-password" : "off"} value={String(v)} readOnly={readOnly} onChange={(e) => set(f, e.target.value)} />;
      default:
        return <input {...common} type="text" spellCheck={false} value={String(v)} onChange={(e) => set(f, e.target.value)} />;
    }
  };

  const defaultText = (f: FormField): string | null => {
    if (!f.schema || !("default" in f.schema)) return null;
    const d = displayValue(f, f.schema.default);
    if (d.hidden || d.empty) return t("settings.defaultEmpty");
    return t("settings.default", { value: d.text.length > 60 ? `${d.text.slice(0, 57)}…` : d.text });
  };

  return (
    <form
      className="settings-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {groups.map((g) => {
        const meta = SETTINGS_GROUPS.find((x) => x.id === g.id);
        return (
          <fieldset key={g.id} className="card settings-group" id={`group-${g.id}`}>
            <legend>{meta ? pick(meta.label) : t("settings.other")}</legend>
            <p className="muted group-help">{meta ? pick(meta.help) : t("settings.otherHelp")}</p>
            {g.fields.map((f) => {
              const err = errorOf(f);
              const changed = changes.some((c) => c.field.key === f.key);
              const dflt = defaultText(f);
              return (
                <div key={f.key} className={`field field-${f.input}${err ? " field-invalid" : ""}${changed ? " field-changed" : ""}`} data-key={f.key}>
                  <div className="field-label">
                    <label htmlFor={fieldId(f)}>
                      {f.meta ? pick(f.meta.label) : f.name}
                      {f.meta?.unit ? <span className="muted"> ({pick(f.meta.unit)})</span> : null}
                    </label>
                    <code className="key">{f.key}</code>
                  </div>
                  <div className="field-input">{renderInput(f)}</div>
                  <p className="help" id={`${fieldId(f)}-help`}>
                    {f.meta ? pick(f.meta.help) : null}
                    {f.input === "json" ? ` ${t("settings.jsonHelp")}` : null}
                    {f.input === "list" ? ` ${t("settings.listHelp")}` : null}
                    {dflt ? <span className="default"> {dflt}</span> : null}
                    {f.meta?.compat ? <span className="muted"> {t("settings.compat")}</span> : null}
                    {f.key === "grok.api_key" && fromEnv ? <span className="warn"> {t("settings.fromEnv")}</span> : null}
                  </p>
                  {f.meta?.danger ? (
                    <p className="danger">
                      <span aria-hidden="true">⚠ </span>
                      {pick(f.meta.danger)}
                    </p>
                  ) : null}
                  {err ? (
                    <p className="field-error" id={`${fieldId(f)}-err`} role="alert">
                      {err}
                    </p>
                  ) : null}
                </div>
              );
            })}
          </fieldset>
        );
      })}
      <div className="save-bar" role="region" aria-label={t("settings.title")}>
        <span className="muted" aria-live="polite">
          {checking ? t("settings.checking") : changes.length ? t("settings.unsaved", { n: changes.length }) : ""}
        </span>
        <button type="button" className="btn" id="settings-reset" disabled={!changes.length && !localCount} onClick={() => setDraft(initialDraft(groups, values))}>
          {t("settings.reset")}
        </button>
        <button type="submit" className="btn btn-primary" id="settings-save" disabled={!changes.length || saving || invalid}>
          {saving ? t("settings.saving") : changes.length ? t("settings.save", { n: changes.length }) : t("settings.saveNone")}
        </button>
      </div>
      {result ? (
        <div className={`result result-${result.tone}`} id="settings-result" role={result.tone === "error" ? "alert" : "status"}>
          <p>{result.text}</p>
          {result.changes ? (
            <ul className="changes">
              {result.changes.map((c) => {
                const from = displayValue(c.field, c.from);
                const to = displayValue(c.field, c.to);
                const show = (d: typeof from) => (d.hidden ? t("settings.secretValue") : d.empty ? t("settings.empty") : d.text);
                return <li key={c.field.key}>{t("settings.changeRow", { key: c.field.key, from: show(from), to: show(to) })}</li>;
              })}
            </ul>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
