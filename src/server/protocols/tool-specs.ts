import type { ToolChoice, ToolSpec } from "../core/turn.js";
import { MAX_JSON_DEPTH, jsonDepthWithin } from "../core/json.js";
import { badRequest } from "../errors.js";

/** Shared validation of client-declared tools (OpenAI chat, Anthropic, Responses). */
const NAME_RE = /^[a-zA-Z0-9_.:-]{1,128}$/;
type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

export function toolSpec(name: unknown, description: unknown, parameters: unknown, param: string, seen: Set<string>): ToolSpec {
  if (typeof name !== "string" || !NAME_RE.test(name)) throw badRequest(`${param}.name must be a string of letters, digits, _ . : - (1–128 characters)`, `${param}.name`);
  if (seen.has(name)) throw badRequest(`${param}.name '${name}' is declared twice`, `${param}.name`);
  seen.add(name);
  if (description !== undefined && description !== null && typeof description !== "string") throw badRequest(`${param}.description must be a string`, `${param}.description`);
  if (parameters !== undefined && parameters !== null && !isObj(parameters)) throw badRequest(`${param} parameters must be a JSON Schema object`, param);
  return { name, description: typeof description === "string" ? description : "", parameters: isObj(parameters) ? parameters : { type: "object", properties: {} } };
}

/** `tool_choice` in OpenAI's forms: "none" | "auto" | "required" | {type:"function", function:{name}} | {type:"function", name}. */
export function openaiToolChoice(v: unknown, param = "tool_choice"): ToolChoice {
  if (v === undefined || v === null || v === "auto") return { type: "auto" };
  if (v === "none") return { type: "none" };
  if (v === "required") return { type: "required" };
  if (isObj(v)) {
    const fn = isObj(v.function) ? v.function : v;
    if ((v.type === "function" || v.type === "custom") && typeof fn.name === "string") return { type: "tool", name: fn.name };
    if (v.type === "auto" || v.type === "none" || v.type === "required") return { type: v.type };
    if (v.type === "allowed_tools") return { type: v.mode === "required" ? "required" : "auto" };
  }
  throw badRequest(`${param} must be "none", "auto", "required" or {"type":"function","function":{"name":…}}`, param);
}

/** Tool-call arguments sent back in history are JSON text: refuse absurd nesting with a 400 naming the field (never a stack overflow later). */
export function checkArgumentsText(text: string, param: string): string {
  if (!jsonDepthWithin(text, MAX_JSON_DEPTH)) throw badRequest(`${param} nests deeper than ${MAX_JSON_DEPTH} levels`, param);
  return text;
}
