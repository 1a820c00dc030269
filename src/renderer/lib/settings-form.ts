import type { SettingsData, SettingsField, SettingsSchemaData, SettingsSectionName } from "../../shared/admin-api";
import { EXTRA_FIELDS, SETTINGS_GROUPS, SETTINGS_META, type SettingMeta, type SettingsGroupId } from "../../shared/settings-meta";
import type { MessageKey } from "../i18n/en";

/**
 * The settings form, built from the server's schema description (kinds, limits, options,
 * defaults) and the shared metadata (groups, texts): pure functions, so the component stays thin
 * and the logic is tested without a browser (test/renderer/settings-form.test.ts).
 */
export type InputKind = "checkbox" | "number" | "select" | "text" | "password" | "json" | "list";

export interface FormField {
  section: SettingsSectionName;
  name: string;
  /** `grok.proxy_url` */
  key: string;
  input: InputKind;
  schema: SettingsField | null;
  meta: SettingMeta | null;
}

export interface FormGroup {
  id: SettingsGroupId | "other";
  fields: FormField[];
}

/** What the user typed: text for inputs, a boolean for checkboxes. */
export type Draft = Record<string, string | boolean>;

export interface FieldError {
  key: MessageKey;
  vars?: Record<string, string | number>;
}

function inputFor(f: SettingsField, meta: SettingMeta | null): InputKind {
  switch (f.kind) {
    case "boolean":
      return "checkbox";
    case "number":
      return "number";
    case "enum":
      return "select";
    case "json":
      return "json";
    case "number[]":
      return "list";
    default:
      return meta?.secret ? "password" : "text";
  }
}

/** Groups in the shared order; fields the metadata does not know go to "other" (never hidden). */
export function buildForm(schema: SettingsSchemaData, meta: Record<string, SettingMeta> = SETTINGS_META): FormGroup[] {
  const fields: FormField[] = [];
  for (const section of ["global", "grok"] as const) {
    for (const f of schema[section]) {
      const key = `${section}.${f.name}`;
      const m = meta[key] ?? null;
      fields.push({ section, name: f.name, key, input: inputFor(f, m), schema: f, meta: m });
    }
  }
  for (const x of EXTRA_FIELDS) {
    const key = `${x.section}.${x.name}`;
    if (!fields.some((f) => f.key === key)) fields.push({ section: x.section, name: x.name, key, input: x.kind, schema: null, meta: meta[key] ?? null });
  }
  const groups: FormGroup[] = SETTINGS_GROUPS.map((g) => ({ id: g.id, fields: fields.filter((f) => f.meta?.group === g.id) }));
  const other = fields.filter((f) => !f.meta);
  if (other.length) groups.push({ id: "other", fields: other });
  return groups.filter((g) => g.fields.length);
}

/** A stored value as the input shows it. */
export function toDraft(field: FormField, value: unknown): string | boolean {
  switch (field.input) {
    case "checkbox":
      return value === true || value === "true";
    case "json":
      return value === undefined ? "" : JSON.stringify(value, null, 2);
    case "list":
      return Array.isArray(value) ? value.join(", ") : "";
    case "password":
      return field.name === "admin_password" ? "" : String(value ?? "");
    default:
      return value === undefined || value === null ? "" : String(value);
  }
}

export function initialDraft(groups: FormGroup[], values: SettingsData): Draft {
  const d: Draft = {};
  for (const g of groups) for (const f of g.fields) d[f.key] = toDraft(f, values[f.section]?.[f.name]);
  return d;
}

/** Parses and checks one input against its schema description: the value to send, or why not. */
export function parseField(field: FormField, raw: string | boolean): { value: unknown } | { error: FieldError } {
  const s = field.schema;
  switch (field.input) {
    case "checkbox":
      return { value: raw === true };
    case "number": {
      const text = String(raw).trim();
      if (text === "" || !Number.isFinite(Number(text))) return { error: { key: "form.err.number" } };
      const n = Number(text);
      if (s?.int && !Number.isInteger(n)) return { error: { key: "form.err.int" } };
      if (s?.min !== undefined && n < s.min) return { error: { key: "form.err.min", vars: { min: s.min } } };
      if (s?.max !== undefined && n > s.max) return { error: { key: "form.err.max", vars: { max: s.max } } };
      return { value: n };
    }
    case "select":
      return s?.options && !s.options.includes(String(raw)) ? { error: { key: "form.err.option" } } : { value: String(raw) };
    case "json": {
      try {
        const v = JSON.parse(String(raw));
        if (!v || typeof v !== "object" || Array.isArray(v)) return { error: { key: "form.err.jsonObject" } };
        return { value: v };
      } catch (err) {
        return { error: { key: "form.err.json", vars: { message: (err as Error).message } } };
      }
    }
    case "list": {
      const parts = String(raw).split(",").map((x) => x.trim()).filter(Boolean);
      if (!parts.every((p) => /^-?\d+$/.test(p))) return { error: { key: "form.err.list" } };
      return { value: parts.map(Number) };
    }
    case "password":
      if (field.name === "admin_password" && raw !== "" && String(raw).length < 8) return { error: { key: "form.err.password" } };
      return { value: String(raw) };
    default:
      return { value: String(raw) };
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface Change {
  field: FormField;
  from: unknown;
  to: unknown;
}

/**
 * The changed fields (parsed values that differ from the stored ones) and the problems of the
 * draft. An empty admin password is "no change".
 */
export function diffDraft(groups: FormGroup[], values: SettingsData, draft: Draft): { changes: Change[]; errors: Record<string, FieldError> } {
  const changes: Change[] = [];
  const errors: Record<string, FieldError> = {};
  for (const g of groups)
    for (const f of g.fields) {
      const raw = draft[f.key];
      if (raw === undefined) continue;
      if (raw === toDraft(f, values[f.section]?.[f.name])) continue; // untouched (also keeps number formatting)
      const r = parseField(f, raw);
      if ("error" in r) {
        errors[f.key] = r.error;
        continue;
      }
      if (f.name === "admin_password" && r.value === "") continue;
      const from = values[f.section]?.[f.name];
      if (!same(from, r.value)) changes.push({ field: f, from, to: r.value });
    }
  return { changes, errors };
}

/** The POST /api/settings body for the changes (the original's section names). */
export function patchBody(changes: Change[]): { global_config?: Record<string, unknown>; grok_config?: Record<string, unknown> } {
  const body: { global_config?: Record<string, unknown>; grok_config?: Record<string, unknown> } = {};
  for (const c of changes) {
    const k = c.field.section === "global" ? "global_config" : "grok_config";
    (body[k] ??= {})[c.field.name] = c.to;
  }
  return body;
}

/** A value for the "what changed" list: empty marked, secrets hidden, JSON compact. */
export function displayValue(field: FormField, v: unknown): { text: string; hidden?: boolean; empty?: boolean } {
  if (v === "" || v === undefined || v === null) return { text: "", empty: true };
  if (field.meta?.secret || field.input === "password") return { text: "", hidden: true };
  if (typeof v === "object") return { text: JSON.stringify(v) };
  return { text: String(v) };
}
