import type { ToolSpec } from "../../core/turn.js";
import { parseJsonTolerant, valueDepthWithin } from "./json.js";

/**
 * Checking a model's arguments against the declared tool (docs/tool-calling.md, "Arguments"):
 * argument-name aliases mapped when unambiguous, rough top-level type coercion, required keys.
 */

export type ArgumentsCheck =
  | { ok: true; value: Record<string, unknown>; notes: string[] }
  | { ok: false; reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** The key a name normalises to for alias matching: `filePath`, `file_path`, `file-path`, `FILE PATH` → `filepath`. */
export function aliasKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

function schemaTypes(schema: unknown): string[] | null {
  if (!isObj(schema)) return null;
  const t = schema.type;
  if (typeof t === "string") return [t];
  if (Array.isArray(t) && t.every((x) => typeof x === "string")) return t as string[];
  return null;
}

/** Coerces `v` towards one of `types` when that is safe; undefined = it does not fit. */
function coerce(v: unknown, types: string[]): { value: unknown } | undefined {
  const kind = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
  const fits = (t: string) =>
    t === kind || (t === "integer" && typeof v === "number" && Number.isInteger(v)) || (t === "number" && typeof v === "number") || (t === "object" && kind === "object");
  if (types.some(fits)) return { value: v };
  for (const t of types) {
    if (typeof v === "string") {
      const s = v.trim();
      if ((t === "number" || t === "integer") && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) {
        const num = Number(s);
        if (t === "number" || Number.isInteger(num)) return { value: num };
      }
      if (t === "boolean" && (s === "true" || s === "false")) return { value: s === "true" };
      if (t === "null" && s === "null") return { value: null };
      if (t === "object" || t === "array") {
        const j = parseJsonTolerant(s);
        if (j.ok && (t === "array" ? Array.isArray(j.value) : isObj(j.value))) return { value: j.value };
      }
    }
    if (t === "string" && (typeof v === "number" || typeof v === "boolean")) return { value: String(v) };
  }
  return undefined;
}

/**
 * Normalises `args` (an object, a JSON string, or absent) for `tool`:
 *
 * - freeform tools get `{input: <string>}` (a bare string, or an object whose only string value is taken);
 * - a key that is not a declared property is renamed to the one property whose alias key
 *   (`aliasKey`) equals its own, when exactly one such property exists and is not given already;
 * - `null` for an optional property that does not allow null is dropped (models write it for
 *   "not given"); unknown keys are dropped when the schema says `additionalProperties: false`;
 * - top-level values are coerced where safe (`"5"` → 5 for numbers, `"true"` → true, a JSON
 *   string → object/array, a number → string); a value that still does not fit fails the check;
 * - every required property must be present.
 */
export function checkArguments(tool: ToolSpec, args: unknown): ArgumentsCheck {
  if (tool.freeform) return checkFreeform(args);
  let value: unknown = args;
  if (value === undefined || value === null || (typeof value === "string" && !value.trim())) value = {};
  if (typeof value === "string") {
    const j = parseJsonTolerant(value);
    if (!j.ok) return { ok: false, reason: "arguments are not a JSON object" };
    value = j.value;
  }
  if (!isObj(value)) return { ok: false, reason: "arguments must be a JSON object" };
  if (!valueDepthWithin(value)) return { ok: false, reason: "arguments nest too deeply" };

  const schema = isObj(tool.parameters) ? tool.parameters : {};
  const props = isObj(schema.properties) ? schema.properties : null;
  const required = Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === "string") : [];
  const notes: string[] = [];
  const out: Obj = {};
  const entries = Object.entries(value);

  if (!props) {
    for (const [k, v] of entries) out[k] = v;
  } else {
    const declared = Object.keys(props);
    const given = new Set(entries.map(([k]) => k));
    const byAlias = new Map<string, string[]>();
    for (const p of declared) byAlias.set(aliasKey(p), [...(byAlias.get(aliasKey(p)) ?? []), p]);
    for (const [k, v] of entries) {
      if (Object.hasOwn(props, k)) {
        out[k] = v;
        continue;
      }
      const candidates = (byAlias.get(aliasKey(k)) ?? []).filter((p) => !given.has(p) && !Object.hasOwn(out, p));
      if (candidates.length === 1) {
        out[candidates[0]!] = v;
        notes.push(`${k} → ${candidates[0]}`);
        continue;
      }
      if (schema.additionalProperties === false) {
        notes.push(`dropped unknown ${k}`);
        continue;
      }
      out[k] = v;
    }
    for (const [k, v] of Object.entries(out)) {
      if (!Object.hasOwn(props, k)) continue;
      const types = schemaTypes(props[k]);
      if (!types) continue;
      if (v === null && !types.includes("null") && !required.includes(k)) {
        delete out[k];
        notes.push(`dropped null ${k}`);
        continue;
      }
      const c = coerce(v, types);
      if (!c) return { ok: false, reason: `${k} must be ${types.join(" or ")}` };
      if (c.value !== v) notes.push(`coerced ${k}`);
      out[k] = c.value;
    }
  }
  for (const k of required) if (!Object.hasOwn(out, k)) return { ok: false, reason: `missing required ${k}` };
  return { ok: true, value: out, notes };
}

function checkFreeform(args: unknown): ArgumentsCheck {
  if (typeof args === "string") {
    // A JSON object text with an input key is the structured form, anything else is the input itself.
    const t = args.trim();
    if (t.startsWith("{")) {
      const j = parseJsonTolerant(t);
      if (j.ok && isObj(j.value)) return checkFreeform(j.value);
    }
    return { ok: true, value: { input: args }, notes: [] };
  }
  if (isObj(args)) {
    if (typeof args.input === "string") return { ok: true, value: { input: args.input }, notes: [] };
    const strings = Object.entries(args).filter(([, v]) => typeof v === "string");
    if (strings.length === 1 && Object.keys(args).length === 1) return { ok: true, value: { input: strings[0]![1] as string }, notes: [`${strings[0]![0]} → input`] };
  }
  return { ok: false, reason: "a freeform tool takes one string, input" };
}
