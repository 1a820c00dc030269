import type { ToolSpec } from "../../core/turn.js";
import { checkArguments } from "./arguments.js";
import { parseJsonTolerant } from "./json.js";

/**
 * Reading the calls out of one envelope found by the scanner (scan.ts). Every item becomes a
 * call for a declared tool with checked arguments, or is rejected with a reason; rejected items
 * are handed back as text by the callers (docs/tool-calling.md).
 */

export interface ParsedCall {
  name: string;
  /** JSON text of an object. */
  arguments: string;
}

export interface EnvelopeResult {
  calls: ParsedCall[];
  /** Items that did not become calls: their source text and why. */
  rejected: Array<{ raw: string; reason: string }>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const NAME_KEYS = ["name", "tool_name", "toolName", "tool", "function_name", "recipient_name"];
const ARG_KEYS = ["arguments", "parameters", "args", "input", "params"];
const NAME_TAGS = new Set(["tool_name", "name", "function_name", "function", "tool"]);
const ARG_TAGS = new Set(["parameters", "arguments", "args", "params", "input"]);
const PARAM_TAGS = new Set(["parameter", "param", "arg", "argument"]);

/** The declared tool a model-written name means: exact; without a `functions.`-style prefix; case-insensitively when unique. */
export function resolveTool(name: string, tools: ToolSpec[]): ToolSpec | undefined {
  const exact = tools.find((t) => t.name === name);
  if (exact) return exact;
  const bare = name.replace(/^(functions|function|tools|default_api)\./, "");
  const unprefixed = tools.find((t) => t.name === bare);
  if (unprefixed) return unprefixed;
  const folded = tools.filter((t) => t.name.toLowerCase() === bare.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

const skipWs = (s: string, i: number) => {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
};

/** Index after a fence line (```lang\n) at `i`, or `i`. */
function skipFenceLine(s: string, i: number): number {
  if (!s.startsWith("```", i)) return i;
  const nl = s.indexOf("\n", i);
  return nl < 0 ? i : skipWs(s, nl + 1);
}

/**
 * End of the JSON value starting at `k` (a `{` or `[`), string-aware and iterative. Unbalanced
 * values stop at a `<` outside strings (when `stopAtTag`), at a fence outside strings, or at the end.
 */
export function jsonEnd(s: string, k: number, stopAtTag: boolean): { end: number; balanced: boolean } {
  let depth = 0;
  let inString = false;
  for (let j = k; j < s.length; j++) {
    const c = s[j]!;
    if (inString) {
      if (c === "\\") j++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (--depth <= 0) return { end: j + 1, balanced: true };
    } else if (c === "<" && stopAtTag) return { end: j, balanced: false };
    else if (c === "`" && s.startsWith("```", j)) return { end: j, balanced: false };
  }
  return { end: s.length, balanced: false };
}

/** Strips a code fence around a whole value. */
function unfence(s: string): string {
  const t = s.trim();
  const m = /^```[\w-]*[ \t]*\r?\n([\s\S]*?)\r?\n?[ \t]*```$/.exec(t);
  return m ? m[1]! : t;
}

/** A raw XML value: CDATA unwrapped, one leading and one trailing line break removed. */
function xmlValue(s: string): string {
  const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(s);
  if (cdata) return cdata[1]!;
  return s.replace(/^\r?\n/, "").replace(/\r?\n$/, "");
}

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>/]+))`).exec(attrs);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

interface Child {
  local: string;
  attrs: string;
  value: string;
  closed: boolean;
}

const CHILD_OPEN = /<(?:[\w.-]+:)?([A-Za-z_][\w-]*)((?:\s[^>]*)?)>/g;

/** Top-level child elements of an XML fragment (text between them is ignored). */
function children(s: string): Child[] {
  const out: Child[] = [];
  const re = new RegExp(CHILD_OPEN.source, "g");
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const local = m[1]!;
    const attrs = m[2] ?? "";
    if (attrs.trimEnd().endsWith("/")) {
      out.push({ local, attrs, value: "", closed: true });
      continue;
    }
    const close = new RegExp(`</(?:[\\w.-]+:)?${escapeRe(local)}\\s*>`, "g");
    close.lastIndex = re.lastIndex;
    const c = close.exec(s);
    if (!c) {
      out.push({ local, attrs, value: s.slice(re.lastIndex), closed: false });
      break;
    }
    out.push({ local, attrs, value: s.slice(re.lastIndex, c.index), closed: true });
    re.lastIndex = c.index + c[0].length;
  }
  return out;
}

/** An object from XML children: `<parameter name="k">v</parameter>` or `<k>v</k>`. */
function objectFromChildren(kids: Child[]): { ok: true; value: Obj } | { ok: false; error: string } {
  const o: Obj = {};
  for (const k of kids) {
    if (!k.closed) return { ok: false, error: `<${k.local}> is not closed` };
    const key = PARAM_TAGS.has(k.local) ? attr(k.attrs, "name") : k.local;
    if (!key) return { ok: false, error: `<${k.local}> has no name` };
    o[key] = xmlValue(k.value);
  }
  return { ok: true, value: o };
}

type Candidate = { name: string; args: unknown } | { error: string };

/** Name and arguments of a call written as a JSON object (ours, OpenAI's, Anthropic's tool_use, flattened). */
export function callFromObject(o: Obj, fallbackName?: string): Candidate {
  const fn = isObj(o.function) ? o.function : null;
  let name: string | undefined;
  for (const k of NAME_KEYS) name ??= str(o[k]);
  name ??= typeof o.function === "string" ? str(o.function) : undefined;
  name ??= fn ? str(fn.name) : undefined;
  name ??= fallbackName;
  if (!name) return { error: "no tool name" };
  let args: unknown;
  let found = false;
  for (const src of fn ? [o, fn] : [o]) {
    for (const k of ARG_KEYS) {
      if (!found && Object.hasOwn(src, k)) {
        args = src[k];
        found = true;
      }
    }
  }
  if (!found) {
    // Flattened: {"name": "Read", "file_path": "…"}.
    const rest: Obj = {};
    for (const [k, v] of Object.entries(o)) if (!NAME_KEYS.includes(k) && !["function", "id", "type", "call_id"].includes(k)) rest[k] = v;
    args = rest;
  }
  return { name, args };
}

const looksLikeCall = (v: Obj) => NAME_KEYS.some((k) => Object.hasOwn(v, k)) || isObj(v.function) || typeof v.function === "string";

/** Call objects in a parsed JSON value: `{"tool_calls": [...]}`, a single call object, or an array of them. */
function callObjects(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObj(v) && Object.hasOwn(v, "tool_calls")) {
    const tc = v.tool_calls;
    return Array.isArray(tc) ? tc : [tc];
  }
  if (isObj(v) && Object.hasOwn(v, "tool_call")) return [v.tool_call];
  return [v];
}

function fromJsonValue(v: unknown, nameAttr?: string): Candidate[] {
  if (nameAttr && isObj(v) && !Object.hasOwn(v, "tool_calls")) {
    // <invoke name="X">{…}</invoke>: the object is the arguments unless it is itself a call to X.
    const isCallToX = looksLikeCall(v) && (str(v.name) === nameAttr || ARG_KEYS.some((k) => Object.hasOwn(v, k)));
    return [isCallToX ? callFromObject(v, nameAttr) : { name: nameAttr, args: v }];
  }
  return callObjects(v).map((o) => (isObj(o) && looksLikeCall(o) ? callFromObject(o, nameAttr) : { error: "a call must be an object with a name" }));
}

function interpretItem(attrs: string, content: string): Candidate[] {
  const nameAttr = attr(attrs, "name");
  const c = unfence(content);
  if (c.startsWith("{") || c.startsWith("[")) {
    const j = parseJsonTolerant(c);
    if (!j.ok) return [{ error: "the call is not valid JSON" }];
    return fromJsonValue(j.value, nameAttr);
  }
  if (/<[A-Za-z_]/.test(c)) {
    const kids = children(c);
    const nameKid = nameAttr ? undefined : kids.find((k) => NAME_TAGS.has(k.local));
    const argsKid = kids.find((k) => ARG_TAGS.has(k.local));
    const name = nameAttr ?? (nameKid?.closed ? str(xmlValue(nameKid.value)) : undefined);
    if (!name) return [{ error: "no tool name" }];
    if (argsKid) {
      if (!argsKid.closed) return [{ error: `<${argsKid.local}> is not closed` }];
      const inner = unfence(argsKid.value);
      if (inner.startsWith("{") || inner.startsWith("[")) {
        const j = parseJsonTolerant(inner);
        if (!j.ok) return [{ error: "the arguments are not valid JSON" }];
        return [{ name, args: j.value }];
      }
      if (/^\s*<[A-Za-z_]/.test(argsKid.value)) {
        const o = objectFromChildren(children(argsKid.value));
        return [o.ok ? { name, args: o.value } : { error: o.error }];
      }
      return [{ name, args: xmlValue(argsKid.value) }];
    }
    const o = objectFromChildren(kids.filter((k) => k !== nameKid));
    return [o.ok ? { name, args: o.value } : { error: o.error }];
  }
  if (nameAttr) return [{ name: nameAttr, args: c ? xmlValue(content) : {} }];
  return [{ error: "no tool name" }];
}

interface Item {
  raw: string;
  attrs: string;
  content: string;
}

const ITEM_OPEN = /<(?:[\w.-]+:)?(tool_call|function_call|invoke)(?=[\s>/])([^>]*)>/g;

/** `<tool_call>` / `<function_call>` / `<invoke>` items of an XML fragment, with JSON content delimited string-aware. */
function extractItems(s: string): Item[] {
  const items: Item[] = [];
  const re = new RegExp(ITEM_OPEN.source, "g");
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const local = m[1]!;
    const attrs = m[2] ?? "";
    const openEnd = m.index + m[0].length;
    let content: string;
    let itemEnd: number;
    const close = new RegExp(`</(?:[\\w.-]+:)?${local}\\s*>`, "g");
    if (attrs.trimEnd().endsWith("/")) {
      content = "";
      itemEnd = openEnd;
    } else {
      const k = skipFenceLine(s, skipWs(s, openEnd));
      const e = s[k] === "{" || s[k] === "[" ? jsonEnd(s, k, true) : null;
      if (e?.balanced) {
        let a = skipWs(s, e.end);
        if (s.startsWith("```", a)) a = skipWs(s, a + 3);
        close.lastIndex = a;
        const cm = close.exec(s);
        itemEnd = cm && cm.index === a ? a + cm[0].length : e.end;
        content = s.slice(k, e.end);
      } else {
        close.lastIndex = openEnd;
        const cm = close.exec(s);
        content = s.slice(openEnd, cm ? cm.index : s.length);
        itemEnd = cm ? cm.index + cm[0].length : s.length;
      }
    }
    items.push({ raw: s.slice(m.index, itemEnd), attrs, content });
    re.lastIndex = Math.max(itemEnd, m.index + 1);
  }
  return items;
}

function finish(cands: Array<{ raw: string; cand: Candidate }>, tools: ToolSpec[]): EnvelopeResult {
  const res: EnvelopeResult = { calls: [], rejected: [] };
  for (const { raw, cand } of cands) {
    if ("error" in cand) {
      res.rejected.push({ raw, reason: cand.error });
      continue;
    }
    const tool = resolveTool(cand.name, tools);
    if (!tool) {
      res.rejected.push({ raw, reason: `${cand.name} is not a declared tool` });
      continue;
    }
    const check = checkArguments(tool, cand.args);
    if (!check.ok) {
      res.rejected.push({ raw, reason: `${tool.name}: ${check.reason}` });
      continue;
    }
    res.calls.push({ name: tool.name, arguments: JSON.stringify(check.value) });
  }
  return res;
}

function jsonCalls(json: string, raw: string, tools: ToolSpec[]): EnvelopeResult {
  const j = parseJsonTolerant(json);
  if (!j.ok) return { calls: [], rejected: [{ raw, reason: "the envelope is not valid JSON" }] };
  const objects = callObjects(j.value);
  const cands = fromJsonValue(j.value).map((cand, i) => ({ raw: JSON.stringify(objects[i] ?? null), cand }));
  return finish(cands, tools);
}

/** One JSON value, or several one after another (one call object per line), inside a wrapper. */
function jsonValuesCalls(t: string, raw: string, tools: ToolSpec[]): EnvelopeResult {
  const values: string[] = [];
  for (let k = 0; k < t.length; ) {
    k = skipWs(t, k);
    if (k >= t.length) break;
    if (t[k] !== "{" && t[k] !== "[") return jsonCalls(t, raw, tools);
    const e = jsonEnd(t, k, false);
    values.push(t.slice(k, e.end));
    k = skipWs(t, e.end);
    if (t[k] === ",") k++;
  }
  if (values.length <= 1) return jsonCalls(t, raw, tools);
  const res: EnvelopeResult = { calls: [], rejected: [] };
  for (const v of values) {
    const r = jsonCalls(v, v, tools);
    res.calls.push(...r.calls);
    res.rejected.push(...r.rejected);
  }
  return res;
}

/**
 * The calls in one envelope `raw` (as cut by the scanner: an XML root element, a fenced or bare
 * `{"tool_calls": …}` object, possibly unclosed).
 */
export function parseEnvelope(raw: string, tools: ToolSpec[]): EnvelopeResult {
  let body = raw;
  if (raw.startsWith("```")) body = raw.slice(/^```[\w-]*\s*/.exec(raw)![0].length).replace(/\s*```\s*$/, "");
  if (body.startsWith("{")) {
    const e = jsonEnd(body, 0, false);
    return jsonCalls(body.slice(0, e.end), raw, tools);
  }
  const root = /^<(?:[\w.-]+:)?([\w-]+)[^>]*>/.exec(body);
  if (!root) return { calls: [], rejected: [{ raw, reason: "not an envelope" }] };
  const local = root[1]!;
  if (local === "tool_calls" || local === "function_calls") {
    let inner = body.slice(root[0].length);
    inner = inner.replace(new RegExp(`</(?:[\\w.-]+:)?${local}\\s*>\\s*$`), "");
    const items = extractItems(inner);
    if (!items.length) {
      const t = unfence(inner);
      if (t.startsWith("{") || t.startsWith("[")) return jsonValuesCalls(t, raw, tools);
      return { calls: [], rejected: [{ raw, reason: "no calls in the envelope" }] };
    }
    return finish(itemCandidates(items), tools);
  }
  return finish(itemCandidates(extractItems(body)), tools);
}

function itemCandidates(items: Item[]): Array<{ raw: string; cand: Candidate }> {
  return items.flatMap((it) => interpretItem(it.attrs, it.content).map((cand) => ({ raw: it.raw, cand })));
}
