import type { Turn, TurnMessage } from "../../core/turn.js";
import { ProxyError, badRequest } from "../../errors.js";
import { isObj } from "../tool-specs.js";
import { newResponseId } from "./ids.js";
import { itemsToMessages, newItemContext, normaliseInput } from "./items.js";
import { type WireTool, parseResponsesTools, responsesToolChoice } from "./tools.js";

/**
 * A `POST /v1/responses` body → Turn (api-conformance.md §3.5). Tolerant of every field it does
 * not act on (Codex's `prompt_cache_key`, `client_metadata`, `text.verbosity`, unknown item
 * fields, unknown tool types); strict on the ones it acts on, each 400 naming the field.
 * Everything the renderer and the state code need travels in `turn.extra.responses`.
 */
type Obj = Record<string, unknown>;

const EFFORTS = new Set(["none", "minimal", "low", "medium", "high", "xhigh", "max"]);
const SUMMARIES = new Set(["auto", "concise", "detailed"]);

/** Request options the Responses renderer reads back (turn.extra.responses). */
export interface ResponsesOptions {
  /** This response's id, made up at parse time (the stream's events and the stored copy share it). */
  id: string;
  createdAt: number;
  store: boolean;
  previousResponseId: string | null;
  /** reasoning.summary: a summary is shown only when asked for. */
  summary: "auto" | "concise" | "detailed" | null;
  /** include contains "reasoning.encrypted_content". */
  includeEncrypted: boolean;
  /** Offered tool name → the wire item a call becomes. */
  wire: Record<string, WireTool>;
  /** This request's input, normalised (ids added): stored for input_items and later turns. */
  input: Obj[];
  /** Items of the previous_response_id chain (its input and output, and so on back). */
  history: Obj[];
  /** The request fields a Response object echoes. */
  echo: Obj;
  /** Skipped tools and items, for a debug log. */
  notes: string[];
}

export const responsesOptions = (turn: Turn): ResponsesOptions => turn.extra.responses as ResponsesOptions;

function optNumber(body: Obj, name: string): number | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v)) throw badRequest(`${name} must be a number`, name);
  return v;
}

function optString(body: Obj, name: string): string | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw badRequest(`${name} must be a string`, name);
  return v;
}

function optBool(body: Obj, name: string): boolean | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== "boolean") throw badRequest(`${name} must be a boolean`, name);
  return v;
}

/** `previous_response_id` as sent (checked for type only), for the state look-up before parsing. */
export function previousResponseId(body: unknown): string | null {
  if (!isObj(body)) return null;
  return optString(body, "previous_response_id") || null;
}

/** text.format json_object / json_schema: asked of the model in words (grok.com has no structured output). */
function formatInstruction(text: unknown): string | null {
  if (text === undefined || text === null) return null;
  if (!isObj(text)) throw badRequest("text must be an object", "text");
  const f = text.format;
  if (f === undefined || f === null) return null;
  if (!isObj(f) || typeof f.type !== "string") throw badRequest("text.format must be an object with a type", "text.format");
  if (f.type === "text") return null;
  if (f.type === "json_object") return "Answer with one JSON object only: no prose, no code fences.";
  if (f.type === "json_schema") {
    if (!isObj(f.schema)) throw badRequest("text.format.schema must be a JSON Schema object", "text.format.schema");
    return `Answer with one JSON value only (no prose, no code fences) that matches this JSON Schema${typeof f.name === "string" ? ` (${f.name})` : ""}:\n${JSON.stringify(f.schema)}`;
  }
  throw badRequest('text.format.type must be "text", "json_object" or "json_schema"', "text.format.type");
}

export interface ParseOptions {
  /** Items of the previous_response_id chain, loaded by the route. */
  history?: Obj[];
}

export function parseResponsesRequest(body: unknown, opts: ParseOptions = {}): Turn {
  if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Request body must be a JSON object");
  if (typeof body.model !== "string" || !body.model.trim()) throw new ProxyError(400, "missing_field", "you must provide a model parameter", { param: "model" });
  if (body.input === undefined || body.input === null) throw new ProxyError(400, "missing_field", "input is required (a string or an array of input items)", { param: "input" });
  for (const unsupported of ["conversation", "prompt"]) {
    if (body[unsupported] !== undefined && body[unsupported] !== null)
      throw new ProxyError(400, "unsupported", `${unsupported} is not supported by this proxy (${unsupported === "conversation" ? "use previous_response_id, or send the history in input" : "prompt templates live on platform.openai.com"})`, { param: unsupported });
  }
  if (body.background === true) throw new ProxyError(400, "unsupported", "background responses are not supported by this proxy", { param: "background" });
  optBool(body, "background");

  const stream = optBool(body, "stream") === true;
  const store = optBool(body, "store") !== false;
  const parallel = optBool(body, "parallel_tool_calls") !== false;
  const instructions = optString(body, "instructions");
  const temperature = optNumber(body, "temperature");
  const topP = optNumber(body, "top_p");
  const previous = previousResponseId(body);

  const mot = body.max_output_tokens;
  let maxTokens: number | null = null;
  if (mot !== undefined && mot !== null) {
    if (typeof mot !== "number" || !Number.isInteger(mot) || mot < 1) throw badRequest("max_output_tokens must be an integer ≥ 1", "max_output_tokens");
    maxTokens = mot;
  }

  let effort: string | null = null;
  let summary: ResponsesOptions["summary"] = null;
  const r = body.reasoning;
  if (r !== undefined && r !== null) {
    if (!isObj(r)) throw badRequest("reasoning must be an object", "reasoning");
    if (r.effort !== undefined && r.effort !== null) {
      if (typeof r.effort !== "string" || !EFFORTS.has(r.effort)) throw badRequest(`reasoning.effort must be one of ${[...EFFORTS].join(", ")}`, "reasoning.effort");
      effort = r.effort;
    }
    const s = r.summary ?? r.generate_summary;
    if (s !== undefined && s !== null) {
      if (typeof s !== "string" || !SUMMARIES.has(s)) throw badRequest("reasoning.summary must be one of auto, concise, detailed", "reasoning.summary");
      summary = s as ResponsesOptions["summary"];
    }
  }

  const inc = body.include;
  if (inc !== undefined && inc !== null && (!Array.isArray(inc) || !inc.every((x) => typeof x === "string"))) throw badRequest("include must be an array of strings", "include");
  const includeEncrypted = Array.isArray(inc) && inc.includes("reasoning.encrypted_content");

  const md = body.metadata;
  if (md !== undefined && md !== null && (!isObj(md) || !Object.values(md).every((v) => typeof v === "string"))) throw badRequest("metadata must be an object of string values", "metadata");
  const truncation = body.truncation;
  if (truncation !== undefined && truncation !== null && truncation !== "auto" && truncation !== "disabled") throw badRequest('truncation must be "auto" or "disabled"', "truncation");

  const tools = parseResponsesTools(body.tools);
  const toolChoice = responsesToolChoice(body.tool_choice, tools);
  const format = formatInstruction(body.text);

  const ctx = newItemContext();
  const messages: TurnMessage[] = [];
  if (instructions) messages.push({ role: "system", text: instructions });
  const history = opts.history ?? [];
  itemsToMessages(history, "previous_response_id items", messages, ctx);
  const input = normaliseInput(body.input);
  itemsToMessages(input, "input", messages, ctx);
  if (!input.length && !history.length) throw badRequest("input must not be empty", "input");
  if (!messages.some((m) => m.role !== "system" && (m.text.trim() || m.toolCalls?.length || m.role === "tool")) && ctx.attachments.length === 0)
    throw badRequest("input contains no text", "input");
  if (format) messages.push({ role: "system", text: format });

  const echo: Obj = {
    instructions,
    max_output_tokens: maxTokens,
    metadata: isObj(md) ? md : {},
    parallel_tool_calls: parallel,
    previous_response_id: previous,
    reasoning: { effort, summary },
    store,
    temperature: temperature ?? 1,
    top_p: topP ?? 1,
    text: isObj(body.text) ? { format: { type: "text" }, ...body.text } : { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: tools.echo,
    truncation: truncation ?? "disabled",
    background: false,
    service_tier: "default",
  };
  for (const k of ["user", "prompt_cache_key", "safety_identifier"]) if (typeof body[k] === "string") echo[k] = body[k];

  const responses: ResponsesOptions = {
    id: newResponseId(),
    createdAt: Math.floor(Date.now() / 1000),
    store,
    previousResponseId: previous,
    summary,
    includeEncrypted,
    wire: tools.wire,
    input,
    history,
    echo,
    notes: [...tools.skipped.map((t) => `${t} not offered (unsupported tool type)`), ...ctx.notes],
  };
  return {
    protocol: "responses",
    model: body.model.trim(),
    messages,
    attachments: ctx.attachments,
    tools: tools.specs,
    toolChoice,
    parallelToolCalls: parallel,
    stream,
    stop: [],
    maxTokens,
    hideReasoning: effort === "none" || effort === "minimal",
    extra: { responses },
  };
}
