import type { ToolChoice, ToolSpec } from "../../core/turn.js";
import { badRequest } from "../../errors.js";
import { isObj, toolSpec } from "../tool-specs.js";

/**
 * Responses API tools → the Turn's ToolSpecs, and the way back: which wire item a call of each
 * offered name becomes (api-conformance.md §3.5).
 *
 * - `function` (top-level name/description/parameters) → a ToolSpec of that name.
 * - `namespace` → its functions (and custom tools), each offered as `<namespace>__<name>`; a
 *   call goes back as `function_call {namespace, name}` (or `custom_tool_call`).
 * - `custom` (freeform text, e.g. apply_patch with a Lark grammar) → a freeform ToolSpec whose
 *   `parameters` hold the client's format (the prompt shows it as the input format,
 *   docs/tool-calling.md); a call goes back as `custom_tool_call {input}`.
 * - `web_search` / `web_search_preview` → nothing to offer: grok.com searches on its own, and its
 *   citations come back as `url_citation` annotations.
 * - `local_shell` → a function `local_shell` taking `{command: string[]}`, answered as
 *   `local_shell_call`.
 * - anything else (tool_search, mcp, file_search, computer, image_generation, …) is skipped and
 *   reported in `skipped` for a debug log, never a 400.
 */
type Obj = Record<string, unknown>;

export const NAMESPACE_SEP = "__";
export const LOCAL_SHELL = "local_shell";
const NAMESPACE_RE = /^[a-zA-Z0-9_-]{1,64}$/;

/** How a call of an offered (flat) name goes back on the wire. */
export type WireTool =
  | { kind: "function"; name: string; namespace?: string }
  | { kind: "custom"; name: string; namespace?: string }
  | { kind: "local_shell" };

export interface ResponsesTools {
  specs: ToolSpec[];
  /** Offered name → wire form. */
  wire: Record<string, WireTool>;
  /** web_search / web_search_preview was declared. */
  webSearch: boolean;
  /** The tools as the Response object echoes them (spec-shaped). */
  echo: Obj[];
  /** Tools not offered, for a debug log: `tools[3] (tool_search)`. */
  skipped: string[];
}

export const flatName = (namespace: string | undefined, name: string) => (namespace ? `${namespace}${NAMESPACE_SEP}${name}` : name);

const LOCAL_SHELL_SPEC: ToolSpec = {
  name: LOCAL_SHELL,
  description: "Runs a command on the user's machine and returns its output. `command` is the argv list, e.g. [\"bash\", \"-lc\", \"ls -la\"].",
  parameters: {
    type: "object",
    properties: {
      command: { type: "array", items: { type: "string" }, description: "The command and its arguments." },
      workdir: { type: "string", description: "Working directory (optional)." },
      timeout_ms: { type: "integer", description: "Timeout in milliseconds (optional)." },
    },
    required: ["command"],
  },
};

/** A custom tool's input format as the prompt shows it: the grammar, or nothing for plain text. */
function customFormat(t: Obj, param: string): Record<string, unknown> {
  const f = t.format;
  if (f === undefined || f === null) return {};
  if (!isObj(f)) throw badRequest(`${param}.format must be an object`, `${param}.format`);
  if (f.type === "text") return {};
  if (f.type !== "grammar") throw badRequest(`${param}.format.type must be "text" or "grammar"`, `${param}.format.type`);
  if (typeof f.definition !== "string" || !f.definition) throw badRequest(`${param}.format.definition must be a non-empty string`, `${param}.format.definition`);
  return { type: "grammar", syntax: typeof f.syntax === "string" ? f.syntax : "lark", definition: f.definition };
}

function customSpec(t: Obj, param: string, seen: Set<string>, namespace?: string): ToolSpec {
  if (typeof t.name !== "string") throw badRequest(`${param}.name must be a string`, `${param}.name`);
  const format = customFormat(t, param);
  return { ...toolSpec(flatName(namespace, t.name), t.description, null, param, seen), parameters: format, freeform: true };
}

function functionSpec(t: Obj, param: string, seen: Set<string>, namespace?: string): ToolSpec {
  if (t.name === undefined && isObj(t.function)) throw badRequest(`${param}: Responses function tools take name/parameters at the top level, not under "function"`, `${param}.name`);
  if (typeof t.name !== "string") throw badRequest(`${param}.name must be a string`, `${param}.name`);
  return toolSpec(flatName(namespace, t.name), t.description, t.parameters, param, seen);
}

const echoFunction = (t: Obj): Obj => ({
  type: "function",
  name: t.name,
  description: typeof t.description === "string" ? t.description : null,
  parameters: isObj(t.parameters) ? t.parameters : null,
  strict: typeof t.strict === "boolean" ? t.strict : true,
});

const echoCustom = (t: Obj): Obj => {
  const out: Obj = { type: "custom", name: t.name };
  if (typeof t.description === "string") out.description = t.description;
  if (isObj(t.format)) out.format = t.format;
  return out;
};

export function parseResponsesTools(raw: unknown): ResponsesTools {
  const out: ResponsesTools = { specs: [], wire: {}, webSearch: false, echo: [], skipped: [] };
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) throw badRequest("tools must be an array", "tools");
  const seen = new Set<string>();
  raw.forEach((t, i) => {
    const p = `tools[${i}]`;
    if (!isObj(t)) throw badRequest(`${p} must be an object`, p);
    if (typeof t.type !== "string") throw badRequest(`${p}.type must be a string`, `${p}.type`);
    switch (t.type) {
      case "function": {
        const spec = functionSpec(t, p, seen);
        out.specs.push(spec);
        out.wire[spec.name] = { kind: "function", name: spec.name };
        out.echo.push(echoFunction(t));
        return;
      }
      case "custom": {
        const spec = customSpec(t, p, seen);
        out.specs.push(spec);
        out.wire[spec.name] = { kind: "custom", name: spec.name };
        out.echo.push(echoCustom(t));
        return;
      }
      case "namespace": {
        if (typeof t.name !== "string" || !NAMESPACE_RE.test(t.name)) throw badRequest(`${p}.name must be a namespace name (letters, digits, _ and -, 1–64 characters)`, `${p}.name`);
        if (!Array.isArray(t.tools) || t.tools.length === 0) throw badRequest(`${p}.tools must be a non-empty array`, `${p}.tools`);
        const ns = t.name;
        const echoed: Obj[] = [];
        t.tools.forEach((inner, j) => {
          const q = `${p}.tools[${j}]`;
          if (!isObj(inner)) throw badRequest(`${q} must be an object`, q);
          if (inner.type === "function") {
            const spec = functionSpec(inner, q, seen, ns);
            out.specs.push(spec);
            out.wire[spec.name] = { kind: "function", name: String(inner.name), namespace: ns };
            echoed.push(echoFunction(inner));
          } else if (inner.type === "custom") {
            const spec = customSpec(inner, q, seen, ns);
            out.specs.push(spec);
            out.wire[spec.name] = { kind: "custom", name: String(inner.name), namespace: ns };
            echoed.push(echoCustom(inner));
          } else out.skipped.push(`${q} (${String(inner.type)})`);
        });
        if (echoed.length) out.echo.push({ type: "namespace", name: ns, description: typeof t.description === "string" ? t.description : "", tools: echoed });
        return;
      }
      case "web_search":
      case "web_search_2025_08_26":
      case "web_search_preview":
      case "web_search_preview_2025_03_11":
        out.webSearch = true;
        out.echo.push({ ...t });
        return;
      case "local_shell": {
        if (seen.has(LOCAL_SHELL)) throw badRequest(`${p}: local_shell is declared twice (or clashes with a function of that name)`, `${p}.type`);
        seen.add(LOCAL_SHELL);
        out.specs.push(LOCAL_SHELL_SPEC);
        out.wire[LOCAL_SHELL] = { kind: "local_shell" };
        out.echo.push({ type: "local_shell" });
        return;
      }
      default:
        out.skipped.push(`${p} (${t.type})`);
    }
  });
  return out;
}

/**
 * `tool_choice` in the Responses forms: "none" | "auto" | "required", `{type:"function"|"custom", name}`
 * (a namespaced function may be named bare when that is unambiguous), `{type:"allowed_tools", mode}`,
 * and hosted-tool forms (`{type:"web_search_preview"}`, …), which mean "auto" here.
 */
export function responsesToolChoice(v: unknown, tools: ResponsesTools): ToolChoice {
  if (v === undefined || v === null || v === "auto") return { type: "auto" };
  if (v === "none" || v === "required") return { type: v };
  const fail = () => badRequest('tool_choice must be "none", "auto", "required", {"type":"function","name":…}, {"type":"custom","name":…} or {"type":"allowed_tools",…}', "tool_choice");
  if (!isObj(v) || typeof v.type !== "string") throw fail();
  switch (v.type) {
    case "function":
    case "custom": {
      if (typeof v.name !== "string" || !v.name) throw badRequest("tool_choice.name must be a string", "tool_choice.name");
      if (tools.wire[v.name]) return { type: "tool", name: v.name };
      const ns = typeof v.namespace === "string" ? v.namespace : undefined;
      const matches = Object.entries(tools.wire).filter(([, w]) => w.kind !== "local_shell" && w.name === v.name && (ns === undefined || w.namespace === ns));
      if (matches.length === 1) return { type: "tool", name: matches[0]![0] };
      return { type: "tool", name: v.name }; // unknown: the runner's check names it in a 400
    }
    case "allowed_tools":
      return { type: v.mode === "required" ? "required" : "auto" };
    case "local_shell":
      return { type: "tool", name: LOCAL_SHELL };
    case "file_search":
    case "web_search_preview":
    case "web_search_preview_2025_03_11":
    case "web_search":
    case "computer":
    case "computer_use":
    case "computer_use_preview":
    case "image_generation":
    case "code_interpreter":
    case "mcp":
    case "apply_patch":
    case "shell":
      return { type: "auto" };
    default:
      throw fail();
  }
}
