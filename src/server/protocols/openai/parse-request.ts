import type { Attachment, ToolSpec, Turn, TurnMessage, TurnRole } from "../../core/turn.js";
import { ProxyError, badRequest } from "../../errors.js";
import { parseImageUrl } from "../attachments.js";
import { checkArgumentsText, isObj, openaiToolChoice, toolSpec } from "../tool-specs.js";

/**
 * An OpenAI chat completion request → Turn (api-conformance.md §2.1, §2.5). OpenAI-only
 * options travel in `turn.extra`: `includeUsage` (stream_options.include_usage).
 */
type Obj = Record<string, unknown>;
const REASONING_EFFORTS = new Set(["none", "minimal", "low", "medium", "high", "xhigh", "max"]);

function intField(body: Obj, name: string, min: number): number | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw badRequest(`${name} must be an integer ≥ ${min}`, name);
  return v;
}

/** Text of a message's content (string or parts); image parts become attachments with a marker. */
function contentText(content: unknown, param: string, attachments: Attachment[]): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw badRequest(`${param} must be a string or an array of content parts`, param);
  const texts: string[] = [];
  content.forEach((part, j) => {
    const p = `${param}[${j}]`;
    if (typeof part === "string") return void texts.push(part);
    if (!isObj(part)) throw badRequest(`${p} must be an object`, p);
    switch (part.type) {
      case "text":
      case "input_text":
        if (typeof part.text !== "string") throw badRequest(`${p}.text must be a string`, `${p}.text`);
        texts.push(part.text);
        return;
      case "image_url": {
        const iu = part.image_url;
        const url = typeof iu === "string" ? iu : isObj(iu) ? iu.url : undefined;
        attachments.push(parseImageUrl(url, `${p}.image_url.url`, attachments.length + 1));
        texts.push(`[image #${attachments.length}]`);
        return;
      }
      case "input_audio":
      case "file":
        throw new ProxyError(400, "unsupported", `${p}: content part type "${part.type}" is not supported by grok.com web chat`, { param: `${p}.type` });
      default:
        throw badRequest(`${p}.type "${String(part.type)}" is not a known content part type`, `${p}.type`);
    }
  });
  return texts.join("\n");
}

export function parseOpenAIChatRequest(body: unknown): Turn {
  if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Request body must be a JSON object");
  if (typeof body.model !== "string" || !body.model.trim()) throw new ProxyError(400, "missing_field", "you must provide a model parameter", { param: "model" });
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new ProxyError(400, "missing_field", "messages must be a non-empty array", { param: "messages" });

  const n = intField(body, "n", 1);
  if (n !== null && n > 1) throw badRequest("n > 1 is not supported: grok.com returns one answer per request", "n");

  const attachments: Attachment[] = [];
  const messages: TurnMessage[] = body.messages.map((m, i) => {
    const param = `messages[${i}]`;
    if (!isObj(m)) throw badRequest(`${param} must be an object`, param);
    const rawRole = m.role;
    const role: TurnRole | null =
      rawRole === "system" || rawRole === "developer" ? "system" : rawRole === "user" ? "user" : rawRole === "assistant" ? "assistant" : rawRole === "tool" || rawRole === "function" ? "tool" : null;
    if (!role) throw badRequest(`${param}.role must be one of system, developer, user, assistant, tool`, `${param}.role`);
    const text = contentText(m.content, `${param}.content`, attachments);
    const msg: TurnMessage = { role, text };
    if (role === "tool") msg.toolCallId = typeof m.tool_call_id === "string" ? m.tool_call_id : typeof m.name === "string" ? m.name : undefined;
    if (role === "assistant" && Array.isArray(m.tool_calls))
      msg.toolCalls = m.tool_calls.filter(isObj).map((c, k) => {
        const fn = isObj(c.function) ? c.function : {};
        const args = typeof fn.arguments === "string" ? checkArgumentsText(fn.arguments, `${param}.tool_calls[${k}].function.arguments`) : JSON.stringify(fn.arguments ?? {});
        return { id: typeof c.id === "string" ? c.id : `call_${k}`, name: String(fn.name ?? "tool"), arguments: args };
      });
    return msg;
  });
  if (!messages.some((m) => m.text.trim() || m.toolCalls?.length) && attachments.length === 0)
    throw badRequest("messages contain no text", "messages");

  const stream = body.stream === true;
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") throw badRequest("stream must be a boolean", "stream");
  const so = body.stream_options;
  const includeUsage = stream && isObj(so) && so.include_usage === true;

  let stop: string[] = [];
  if (typeof body.stop === "string") stop = [body.stop];
  else if (Array.isArray(body.stop)) {
    if (body.stop.length > 4 || !body.stop.every((s) => typeof s === "string")) throw badRequest("stop must be a string or an array of at most 4 strings", "stop");
    stop = body.stop as string[];
  } else if (body.stop !== undefined && body.stop !== null) throw badRequest("stop must be a string or an array of at most 4 strings", "stop");
  stop = stop.filter(Boolean);

  const maxTokens = intField(body, "max_completion_tokens", 1) ?? intField(body, "max_tokens", 1);

  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null && (typeof effort !== "string" || !REASONING_EFFORTS.has(effort)))
    throw badRequest(`reasoning_effort must be one of ${[...REASONING_EFFORTS].join(", ")}`, "reasoning_effort");

  for (const f of ["temperature", "top_p", "presence_penalty", "frequency_penalty"]) {
    const v = body[f];
    if (v !== undefined && v !== null && typeof v !== "number") throw badRequest(`${f} must be a number`, f);
  }

  const tools = parseTools(body);
  const toolChoice = body.tools === undefined && body.functions !== undefined ? legacyFunctionCall(body.function_call) : openaiToolChoice(body.tool_choice);
  if (body.parallel_tool_calls !== undefined && body.parallel_tool_calls !== null && typeof body.parallel_tool_calls !== "boolean") throw badRequest("parallel_tool_calls must be a boolean", "parallel_tool_calls");

  return {
    protocol: "openai",
    model: body.model.trim(),
    messages,
    attachments,
    tools,
    toolChoice,
    parallelToolCalls: body.parallel_tool_calls !== false,
    stream,
    stop,
    maxTokens,
    hideReasoning: effort === "none" || effort === "minimal",
    extra: { includeUsage },
  };
}

/** `tools: [{type:"function", function:{name, description, parameters}}]`, or the legacy `functions` list. */
function parseTools(body: Obj): ToolSpec[] {
  const seen = new Set<string>();
  if (body.tools === undefined || body.tools === null) {
    if (!Array.isArray(body.functions)) return [];
    return body.functions.map((f, i) => {
      const p = `functions[${i}]`;
      if (!isObj(f)) throw badRequest(`${p} must be an object`, p);
      return toolSpec(f.name, f.description, f.parameters, p, seen);
    });
  }
  if (!Array.isArray(body.tools)) throw badRequest("tools must be an array", "tools");
  const out: ToolSpec[] = [];
  body.tools.forEach((t, i) => {
    const p = `tools[${i}]`;
    if (!isObj(t)) throw badRequest(`${p} must be an object`, p);
    if (t.type === "custom" && isObj(t.custom)) {
      // freeform: `parameters` carries the client's input format (a grammar), or {} for plain text (docs/tool-calling.md)
      const spec = toolSpec(t.custom.name, t.custom.description, isObj(t.custom.format) ? t.custom.format : {}, `${p}.custom`, seen);
      out.push({ ...spec, freeform: true });
      return;
    }
    if (t.type !== "function") throw badRequest(`${p}.type must be "function"`, `${p}.type`);
    if (!isObj(t.function)) throw badRequest(`${p}.function must be an object`, `${p}.function`);
    out.push(toolSpec(t.function.name, t.function.description, t.function.parameters, `${p}.function`, seen));
  });
  return out;
}

function legacyFunctionCall(v: unknown): Turn["toolChoice"] {
  if (v === "none") return { type: "none" };
  if (isObj(v) && typeof v.name === "string") return { type: "tool", name: v.name };
  return { type: "auto" };
}
