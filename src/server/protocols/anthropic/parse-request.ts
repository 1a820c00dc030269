import type { Attachment, ToolChoice, ToolSpec, Turn, TurnMessage } from "../../core/turn.js";
import { ProxyError, badRequest } from "../../errors.js";
import { parseImageUrl } from "../attachments.js";
import { isObj, toolSpec } from "../tool-specs.js";

/**
 * An Anthropic Messages request → Turn (api-conformance.md §4.2, §4.7). Tolerant of every
 * unknown or null field Claude Code sends (cache_control, metadata, output_config,
 * context_management, defer_loading, …); strict on the fields it acts on, naming them in 400s.
 * Anthropic-only options in `turn.extra`: `thinkingDisplay` ("shown" | "omitted").
 */
type Obj = Record<string, unknown>;
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const BILLING_LINE = /^x-anthropic-billing-header:/i;

export function parseAnthropicRequest(body: unknown, opts: { countOnly?: boolean } = {}): Turn {
  if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Request body must be a JSON object");
  if (typeof body.model !== "string" || !body.model.trim()) throw new ProxyError(400, "missing_field", "model: Field required", { param: "model" });
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new ProxyError(400, "missing_field", "messages: at least one message is required", { param: "messages" });
  let maxTokens: number | null = null;
  if (!opts.countOnly) {
    const mt = body.max_tokens;
    if (mt === undefined || mt === null) throw new ProxyError(400, "missing_field", "max_tokens: Field required", { param: "max_tokens" });
    if (typeof mt !== "number" || !Number.isInteger(mt) || mt < 1) throw badRequest("max_tokens: must be an integer ≥ 1", "max_tokens");
    maxTokens = mt;
  }

  const attachments: Attachment[] = [];
  const messages: TurnMessage[] = [];
  const system = systemText(body.system);
  if (system) messages.push({ role: "system", text: system });
  const toolNames = new Map<string, string>();
  body.messages.forEach((m, i) => messages.push(...parseMessage(m, `messages.${i}`, attachments, toolNames)));
  if (!messages.some((m) => m.text.trim() || m.toolCalls?.length || m.role === "tool") && attachments.length === 0) throw badRequest("messages: no text content", "messages");

  for (const f of ["temperature", "top_p", "top_k"]) {
    const v = body[f];
    if (v !== undefined && v !== null && typeof v !== "number") throw badRequest(`${f}: must be a number`, f);
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") throw badRequest("stream: must be a boolean", "stream");
  let stop: string[] = [];
  if (body.stop_sequences !== undefined && body.stop_sequences !== null) {
    if (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((x) => typeof x === "string")) throw badRequest("stop_sequences: must be an array of strings", "stop_sequences");
    stop = (body.stop_sequences as string[]).filter(Boolean);
  }
  const { tools, choice, parallel } = parseTools(body);
  const thinking = parseThinking(body.thinking);
  return {
    protocol: "anthropic",
    model: body.model.trim(),
    messages,
    attachments,
    tools,
    toolChoice: choice,
    parallelToolCalls: parallel,
    stream: body.stream === true,
    stop,
    maxTokens,
    hideReasoning: thinking === "disabled",
    extra: { thinkingDisplay: thinking === "omitted" ? "omitted" : "shown" },
  };
}

/** `system`: a string or text blocks; Claude Code's billing-header line is not the model's business. */
function systemText(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (!Array.isArray(v)) throw badRequest("system: must be a string or an array of text blocks", "system");
  return v
    .map((b, i) => {
      if (!isObj(b) || b.type !== "text" || typeof b.text !== "string") throw badRequest(`system.${i}: must be a text block`, `system.${i}`);
      return b.text;
    })
    .filter((t) => !BILLING_LINE.test(t.trim()))
    .join("\n\n");
}

function parseMessage(m: unknown, param: string, attachments: Attachment[], toolNames: Map<string, string>): TurnMessage[] {
  if (!isObj(m)) throw badRequest(`${param}: must be an object`, param);
  const role = m.role;
  if (role !== "user" && role !== "assistant" && role !== "system") throw badRequest(`${param}.role: must be "user", "assistant" or "system"`, `${param}.role`);
  if (typeof m.content === "string") return [{ role, text: role === "system" ? stripBilling(m.content) : m.content }];
  if (!Array.isArray(m.content)) throw badRequest(`${param}.content: must be a string or an array of content blocks`, `${param}.content`);
  const out: TurnMessage[] = [];
  const texts: string[] = [];
  const calls: NonNullable<TurnMessage["toolCalls"]> = [];
  m.content.forEach((b, j) => {
    const p = `${param}.content.${j}`;
    if (!isObj(b)) throw badRequest(`${p}: must be a content block object`, p);
    switch (b.type) {
      case "text":
        if (typeof b.text !== "string") throw badRequest(`${p}.text: must be a string`, `${p}.text`);
        texts.push(b.text);
        return;
      case "image":
        attachments.push(imageAttachment(b, p, attachments.length + 1));
        texts.push(`[image #${attachments.length}]`);
        return;
      case "document":
        texts.push(documentText(b, p));
        return;
      case "search_result":
        texts.push(searchResultText(b));
        return;
      case "tool_use": {
        if (role !== "assistant") throw badRequest(`${p}: tool_use blocks belong in assistant messages`, p);
        if (typeof b.id !== "string" || typeof b.name !== "string") throw badRequest(`${p}: tool_use needs a string id and name`, p);
        toolNames.set(b.id, b.name);
        calls.push({ id: b.id, name: b.name, arguments: JSON.stringify(isObj(b.input) ? b.input : {}) });
        return;
      }
      case "tool_result": {
        if (role !== "user") throw badRequest(`${p}: tool_result blocks belong in user messages`, p);
        if (typeof b.tool_use_id !== "string") throw badRequest(`${p}.tool_use_id: must be a string`, `${p}.tool_use_id`);
        const name = toolNames.get(b.tool_use_id);
        out.push({ role: "tool", toolCallId: b.tool_use_id, ...(name ? { toolName: name } : {}), isError: b.is_error === true, text: toolResultText(b.content, `${p}.content`, attachments) });
        return;
      }
      // Thinking blocks come back with the signature this proxy invented: accepted unchanged, not re-read.
      case "thinking":
      case "redacted_thinking":
      // Server-tool blocks and anything newer: tolerated, nothing for the prompt.
      default:
        return;
    }
  });
  const text = texts.join("\n");
  if (text || calls.length || !out.length) out.push({ role, text: role === "system" ? stripBilling(text) : text, ...(calls.length ? { toolCalls: calls } : {}) });
  return out;
}

const stripBilling = (t: string) =>
  t
    .split("\n")
    .filter((l) => !BILLING_LINE.test(l.trim()))
    .join("\n");

function imageAttachment(b: Obj, p: string, index: number): Attachment {
  const src = b.source;
  if (!isObj(src)) throw badRequest(`${p}.source: required`, `${p}.source`);
  if (src.type === "base64") {
    const mt = typeof src.media_type === "string" ? src.media_type.toLowerCase() : "";
    if (!IMAGE_TYPES.has(mt)) throw badRequest(`${p}.source.media_type: must be one of image/jpeg, image/png, image/gif, image/webp`, `${p}.source.media_type`);
    if (typeof src.data !== "string") throw badRequest(`${p}.source.data: must be a base64 string`, `${p}.source.data`);
    return parseImageUrl(`data:${mt};base64,${src.data}`, `${p}.source.data`, index);
  }
  if (src.type === "url") return parseImageUrl(src.url, `${p}.source.url`, index);
  throw new ProxyError(400, "unsupported", `${p}.source.type "${String(src.type)}" is not supported (base64 or url)`, { param: `${p}.source.type` });
}

function documentText(b: Obj, p: string): string {
  const src = b.source;
  const title = typeof b.title === "string" ? `${b.title}\n` : "";
  if (isObj(src) && src.type === "text" && typeof src.data === "string") return `[document]\n${title}${src.data}`;
  if (isObj(src) && src.type === "content" && Array.isArray(src.content))
    return `[document]\n${title}${src.content.map((c) => (isObj(c) && typeof c.text === "string" ? c.text : "")).join("\n")}`;
  throw new ProxyError(400, "unsupported", `${p}: only text documents are supported (grok.com web chat takes no PDF here)`, { param: `${p}.source` });
}

function searchResultText(b: Obj): string {
  const body = Array.isArray(b.content) ? b.content.map((c) => (isObj(c) && typeof c.text === "string" ? c.text : "")).join("\n") : "";
  return `[search result] ${typeof b.title === "string" ? b.title : ""} ${typeof b.source === "string" ? b.source : ""}\n${body}`.trim();
}

function toolResultText(content: unknown, p: string, attachments: Attachment[]): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw badRequest(`${p}: must be a string or an array of blocks`, p);
  return content
    .map((c, k) => {
      if (!isObj(c)) throw badRequest(`${p}.${k}: must be a block object`, `${p}.${k}`);
      if (c.type === "text") return typeof c.text === "string" ? c.text : "";
      if (c.type === "image") {
        attachments.push(imageAttachment(c, `${p}.${k}`, attachments.length + 1));
        return `[image #${attachments.length}]`;
      }
      if (c.type === "document") return documentText(c, `${p}.${k}`);
      if (c.type === "search_result") return searchResultText(c);
      return "";
    })
    .join("\n");
}

/** Client tools (with input_schema) are offered; Anthropic server tools (web_search_*, code_execution_*, …) are grok's own business and skipped. */
function parseTools(body: Obj): { tools: ToolSpec[]; choice: ToolChoice; parallel: boolean } {
  const tools: ToolSpec[] = [];
  const seen = new Set<string>();
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw badRequest("tools: must be an array", "tools");
    body.tools.forEach((t, i) => {
      const p = `tools.${i}`;
      if (!isObj(t)) throw badRequest(`${p}: must be an object`, p);
      const custom = t.type === undefined || t.type === null || t.type === "custom";
      if (!custom) return;
      if (!isObj(t.input_schema)) throw badRequest(`${p}.input_schema: Field required`, `${p}.input_schema`);
      tools.push(toolSpec(t.name, t.description, t.input_schema, p, seen));
    });
  }
  const tc = body.tool_choice;
  let choice: ToolChoice = { type: "auto" };
  let parallel = true;
  if (tc !== undefined && tc !== null) {
    if (!isObj(tc)) throw badRequest("tool_choice: must be an object", "tool_choice");
    if (tc.disable_parallel_tool_use === true) parallel = false;
    if (tc.type === "auto") choice = { type: "auto" };
    else if (tc.type === "any") choice = { type: "required" };
    else if (tc.type === "none") choice = { type: "none" };
    else if (tc.type === "tool" && typeof tc.name === "string") choice = { type: "tool", name: tc.name };
    else throw badRequest('tool_choice.type: must be "auto", "any", "none" or "tool" (with name)', "tool_choice.type");
  }
  return { tools, choice, parallel };
}

function parseThinking(v: unknown): "shown" | "omitted" | "disabled" {
  if (v === undefined || v === null) return "shown";
  if (!isObj(v)) throw badRequest("thinking: must be an object", "thinking");
  if (v.type === "disabled") return "disabled";
  if (v.type === "adaptive" || v.type === "enabled" || v.type === "between_tools") return v.display === "omitted" ? "omitted" : "shown";
  throw badRequest('thinking.type: must be "enabled", "disabled", "adaptive" or "between_tools"', "thinking.type");
}
