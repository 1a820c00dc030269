import type { Attachment, TurnMessage, TurnToolCall } from "../../core/turn.js";
import { ProxyError, badRequest } from "../../errors.js";
import { parseImageUrl } from "../attachments.js";
import { checkArgumentsText, isObj } from "../tool-specs.js";
import { newInputItemId } from "./ids.js";
import { decodeReasoningBlob } from "./reasoning-blob.js";
import { LOCAL_SHELL, flatName } from "./tools.js";

/**
 * Responses input items → Turn messages (api-conformance.md §3.5). The same conversion serves
 * this request's `input` and the stored items of a `previous_response_id` chain.
 *
 * - `message` (roles user, assistant, system, developer; `type` may be absent): content as a
 *   string or parts — `input_text`, `output_text`, `refusal`, `input_image` (https or data URL,
 *   an attachment with an `[image #n]` marker); `input_file`/`input_audio` are a 400.
 * - `function_call`, `custom_tool_call`, `local_shell_call` → tool calls of the assistant turn
 *   they follow (namespaced calls by their offered `<namespace>__<name>`).
 * - `function_call_output`, `custom_tool_call_output`, `local_shell_call_output` → tool results.
 * - `reasoning` → dropped (old thoughts are not re-read); its `encrypted_content` is read back
 *   only to tell ours from a foreign blob, for the notes.
 * - other item types of the Responses API (web_search_call, tool_search_call, compaction,
 *   item_reference, …) are skipped with a note; a type the API does not have is a 400.
 * Unknown fields on known items are ignored.
 */
type Obj = Record<string, unknown>;

/** Item types of the Responses API that carry nothing this proxy can use: skipped, with a note. */
const SKIPPED_TYPES = new Set([
  "item_reference",
  "web_search_call",
  "file_search_call",
  "computer_call",
  "computer_call_output",
  "image_generation_call",
  "code_interpreter_call",
  "tool_search_call",
  "tool_search_output",
  "additional_tools",
  "compaction",
  "compaction_summary",
  "compaction_trigger",
  "mcp_list_tools",
  "mcp_approval_request",
  "mcp_approval_response",
  "mcp_call",
  "shell_call",
  "shell_call_output",
  "apply_patch_call",
  "apply_patch_call_output",
  "program",
  "program_output",
]);

export interface ItemContext {
  attachments: Attachment[];
  /** What was skipped or dropped, for a debug log. */
  notes: string[];
  /** call_id → offered tool name, for naming tool results. */
  callNames: Map<string, string>;
}

export const newItemContext = (): ItemContext => ({ attachments: [], notes: [], callNames: new Map() });

/**
 * The request's `input` as stored items: a string becomes one user message; message items get
 * an `id` and `type` when they came without. Everything else is kept as sent.
 */
export function normaliseInput(input: unknown): Obj[] {
  if (typeof input === "string") return [{ type: "message", id: newInputItemId(), role: "user", content: [{ type: "input_text", text: input }], status: "completed" }];
  if (!Array.isArray(input)) throw badRequest("input must be a string or an array of input items", "input");
  return input.map((item, i) => {
    if (!isObj(item)) throw badRequest(`input[${i}] must be an object`, `input[${i}]`);
    if ((item.type === undefined || item.type === "message") && item.role !== undefined) {
      const out: Obj = { ...item, type: "message" };
      if (typeof out.id !== "string") out.id = newInputItemId();
      return out;
    }
    return item;
  });
}

function partText(part: Obj, p: string): string {
  const t = part.text;
  if (typeof t !== "string") throw badRequest(`${p}.text must be a string`, `${p}.text`);
  return t;
}

/** One content part's text; an image becomes an attachment and its marker. */
function partToText(part: unknown, q: string, ctx: ItemContext): string {
  if (!isObj(part)) throw badRequest(`${q} must be an object`, q);
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
    case "summary_text":
      return partText(part, q);
    case "refusal":
      if (typeof part.refusal !== "string") throw badRequest(`${q}.refusal must be a string`, `${q}.refusal`);
      return part.refusal;
    case "input_image": {
      if (part.image_url === undefined || part.image_url === null) {
        if (part.file_id !== undefined && part.file_id !== null)
          throw new ProxyError(400, "unsupported", `${q}.file_id: uploaded files are not served by this proxy; send the image as image_url (https or data URL)`, { param: `${q}.file_id` });
        throw badRequest(`${q}.image_url is required`, `${q}.image_url`);
      }
      ctx.attachments.push(parseImageUrl(part.image_url, `${q}.image_url`, ctx.attachments.length + 1));
      return `[image #${ctx.attachments.length}]`;
    }
    case "input_file":
    case "input_audio":
      throw new ProxyError(400, "unsupported", `${q}: content part type "${part.type}" is not supported by grok.com web chat`, { param: `${q}.type` });
    default:
      throw badRequest(`${q}.type "${String(part.type)}" is not a known content part type`, `${q}.type`);
  }
}

/** Text of message content (string or parts). */
function contentText(content: unknown, p: string, ctx: ItemContext): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw badRequest(`${p} must be a string or an array of content parts`, p);
  return content.map((part, j) => partToText(part, `${p}[${j}]`, ctx)).join("\n");
}

/** Tool output: a string, or parts (input_text, input_image, input_file). */
function outputText(output: unknown, p: string, ctx: ItemContext): string {
  if (typeof output === "string") return output;
  if (output === undefined || output === null) return "";
  if (!Array.isArray(output)) throw badRequest(`${p} must be a string or an array of content parts`, p);
  const texts: string[] = [];
  output.forEach((part, j) => {
    const q = `${p}[${j}]`;
    if (!isObj(part)) throw badRequest(`${q} must be an object`, q);
    if (part.type === "input_file") {
      texts.push(`[file${typeof part.filename === "string" ? `: ${part.filename}` : ""}]`);
      return;
    }
    texts.push(partToText(part, q, ctx));
  });
  return texts.join("\n");
}

function str(v: unknown, p: string): string {
  if (typeof v !== "string" || !v) throw badRequest(`${p} must be a non-empty string`, p);
  return v;
}

function optNamespace(v: unknown, p: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(v)) throw badRequest(`${p} must be a namespace name`, p);
  return v;
}

/** Appends a call to the assistant turn it follows (or starts one). */
function addCall(messages: TurnMessage[], call: TurnToolCall, ctx: ItemContext): void {
  const last = messages[messages.length - 1];
  if (last && last.role === "assistant") (last.toolCalls ??= []).push(call);
  else messages.push({ role: "assistant", text: "", toolCalls: [call] });
  ctx.callNames.set(call.id, call.name);
}

function addResult(messages: TurnMessage[], callId: string, text: string, ctx: ItemContext): void {
  const name = ctx.callNames.get(callId);
  messages.push({ role: "tool", text, toolCallId: callId, ...(name ? { toolName: name } : {}) });
}

/** Converts items (already normalised by normaliseInput, or stored) into messages appended to `messages`. */
export function itemsToMessages(items: Obj[], base: string, messages: TurnMessage[], ctx: ItemContext): void {
  items.forEach((item, i) => {
    const p = `${base}[${i}]`;
    const type = item.type ?? (item.role !== undefined ? "message" : undefined);
    switch (type) {
      case "message": {
        const r = item.role;
        const role = r === "system" || r === "developer" ? "system" : r === "user" ? "user" : r === "assistant" ? "assistant" : null;
        if (!role) throw badRequest(`${p}.role must be one of user, assistant, system, developer`, `${p}.role`);
        messages.push({ role, text: contentText(item.content, `${p}.content`, ctx) });
        return;
      }
      case "function_call": {
        const name = flatName(optNamespace(item.namespace, `${p}.namespace`), str(item.name, `${p}.name`));
        const args = item.arguments;
        if (args !== undefined && args !== null && typeof args !== "string" && !isObj(args)) throw badRequest(`${p}.arguments must be a JSON string`, `${p}.arguments`);
        addCall(messages, { id: str(item.call_id, `${p}.call_id`), name, arguments: typeof args === "string" ? checkArgumentsText(args, `${p}.arguments`) : JSON.stringify(args ?? {}) }, ctx);
        return;
      }
      case "custom_tool_call": {
        const name = flatName(optNamespace(item.namespace, `${p}.namespace`), str(item.name, `${p}.name`));
        if (typeof item.input !== "string") throw badRequest(`${p}.input must be a string`, `${p}.input`);
        addCall(messages, { id: str(item.call_id, `${p}.call_id`), name, arguments: JSON.stringify({ input: item.input }) }, ctx);
        return;
      }
      case "local_shell_call": {
        const action = item.action;
        if (!isObj(action) || !Array.isArray(action.command) || !action.command.every((c) => typeof c === "string"))
          throw badRequest(`${p}.action.command must be an array of strings`, `${p}.action.command`);
        const id = typeof item.call_id === "string" && item.call_id ? item.call_id : str(item.id, `${p}.call_id`);
        const args: Obj = { command: action.command };
        if (typeof action.working_directory === "string") args.workdir = action.working_directory;
        if (typeof action.timeout_ms === "number") args.timeout_ms = action.timeout_ms;
        addCall(messages, { id, name: LOCAL_SHELL, arguments: JSON.stringify(args) }, ctx);
        return;
      }
      case "function_call_output":
      case "custom_tool_call_output":
        addResult(messages, str(item.call_id, `${p}.call_id`), outputText(item.output, `${p}.output`, ctx), ctx);
        return;
      case "local_shell_call_output": {
        const id = typeof item.call_id === "string" && item.call_id ? item.call_id : str(item.id, `${p}.call_id`);
        addResult(messages, id, outputText(item.output, `${p}.output`, ctx), ctx);
        return;
      }
      case "reasoning": {
        const blob = item.encrypted_content;
        if (blob !== undefined && blob !== null && !decodeReasoningBlob(blob)) ctx.notes.push(`${p}: reasoning encrypted_content not issued by this proxy, ignored`);
        return;
      }
      default:
        if (typeof type === "string" && SKIPPED_TYPES.has(type)) {
          ctx.notes.push(`${p} (${type}) skipped`);
          return;
        }
        throw badRequest(`${p}.type ${type === undefined ? "is required" : `"${String(type)}" is not a Responses input item type`}`, `${p}.type`);
    }
  });
}
