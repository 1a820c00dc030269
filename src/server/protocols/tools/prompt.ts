import type { ToolChoice, ToolSpec } from "../../core/turn.js";
import { jsonDepthWithin } from "./json.js";

/**
 * The prompt side of emulated tool calling (docs/tool-calling.md): the instruction block that
 * declares the tools and the one envelope the model is asked to answer in, and the renderings
 * of earlier calls and results in the flattened history (in that same envelope, so the model
 * sees worked examples of it).
 *
 * The envelope:
 *
 *   <tool_calls>
 *   <tool_call>{"name": "TOOL_NAME", "arguments": {"PARAMETER": "VALUE"}}</tool_call>
 *   </tool_calls>
 */

export const ENVELOPE_OPEN = "<tool_calls>";
export const ENVELOPE_CLOSE = "</tool_calls>";

/** The parameters schema shown for a freeform tool (it takes one string). */
export const FREEFORM_SCHEMA = {
  type: "object",
  properties: { input: { type: "string", description: "The whole input for this tool, as one string." } },
  required: ["input"],
};

/** A tool's parameters as shown to the model: compact JSON, `$schema` left out. */
export function compactSchema(tool: ToolSpec): string {
  if (tool.freeform) return JSON.stringify(FREEFORM_SCHEMA);
  const p = tool.parameters && typeof tool.parameters === "object" && !Array.isArray(tool.parameters) ? { ...tool.parameters } : {};
  delete p.$schema;
  if (!Object.keys(p).length) return '{"type":"object","properties":{}}';
  return JSON.stringify(p);
}

function describeTool(tool: ToolSpec): string {
  const lines = [`## ${tool.name}`];
  const desc = (tool.description ?? "").trim();
  if (desc) lines.push(desc);
  lines.push(`Parameters (JSON Schema): ${compactSchema(tool)}`);
  if (tool.freeform) {
    lines.push('This tool takes one string: put all of its input into "input".');
    const fmt = tool.parameters && typeof tool.parameters === "object" && Object.keys(tool.parameters).length ? JSON.stringify(tool.parameters) : "";
    if (fmt) lines.push(`Input format: ${fmt}`);
  }
  return lines.join("\n");
}

/** The rule line for tool_choice. */
export function choiceRule(choice: ToolChoice): string {
  switch (choice.type) {
    case "required":
      return "You must call a tool in this answer: answer with the <tool_calls> block.";
    case "tool":
      return `You must call the tool "${choice.name}" in this answer: answer with the <tool_calls> block calling ${choice.name}.`;
    case "none":
      return "Do not call any tool in this answer: reply in plain text only, without a <tool_calls> block.";
    default:
      return "Call a tool only when it helps with the request; otherwise reply in plain text, without the block.";
  }
}

/**
 * The instruction block for `tools`. With tool_choice none it is only the rule not to call
 * tools (used when the history already contains calls, so the model does not imitate them).
 */
export function toolInstructions(tools: ToolSpec[], choice: ToolChoice, parallel: boolean): string {
  if (choice.type === "none") return choiceRule(choice);
  const out: string[] = [];
  out.push(
    "# Tools",
    "",
    'You can call the tools below. They run on the user\'s side; each result comes back to you in a later "[tool result for <call id> (<tool name>)]" block, or "[tool error for …]" when the tool failed.',
    "",
    tools.map(describeTool).join("\n\n"),
    "",
    "# How to call tools",
    "",
    "To call tools, write exactly this block:",
    "",
    ENVELOPE_OPEN,
    '<tool_call>{"name": "TOOL_NAME", "arguments": {"PARAMETER": "VALUE"}}</tool_call>',
    ENVELOPE_CLOSE,
    "",
    "Rules:",
    '- Inside each <tool_call> element write one JSON object: "name" is the tool\'s name exactly as listed above, "arguments" is a JSON object matching that tool\'s parameters.',
    '- Write valid JSON: in strings, write line breaks as \\n, tabs as \\t, double quotes as \\" and backslashes as \\\\. Code and file contents go into the JSON string as they are, without a code fence.',
    "- You may write a short sentence before the block. Write nothing after </tool_calls>: end your answer there and wait for the results.",
    "- Never put the block in a code fence, never describe a call instead of making it, and write the block only to call tools, never as an example.",
    "- Never write tool results yourself, and do not repeat a call that already ran with the same arguments: use its result.",
    parallel
      ? "- To call several tools at once, put one <tool_call> element per call inside the one <tool_calls> block."
      : "- Call at most one tool per answer: the block holds exactly one <tool_call> element.",
    `- ${choiceRule(choice)}`,
  );
  return out.join("\n");
}

/** The short reminder placed at the end of a prompt whose latest user turn is followed by tool rounds. */
export function toolReminder(choice: ToolChoice, parallel: boolean): string {
  const how = `to call ${parallel ? "tools" : "a tool (at most one)"}, answer with the <tool_calls> block as described above and write nothing after it.`;
  return `Reminder: ${how} ${choiceRule(choice)}`;
}

/**
 * Calls rendered in the envelope, as the model is asked to write them. Arguments that are not
 * JSON (or nest deeper than MAX_JSON_DEPTH) are written as a JSON string. A literal `</tool_call` inside an argument is written
 * `<\/tool_call` (a valid JSON escape of the same text), so it cannot end the element early.
 */
export function renderToolCalls(calls: Array<{ name: string; arguments: string }>): string {
  const items = calls.map((c) => {
    let args: unknown = c.arguments;
    if (jsonDepthWithin(c.arguments || "{}")) {
      try {
        args = JSON.parse(c.arguments || "{}");
      } catch {
        /* not JSON: written as a string */
      }
    }
    return `<tool_call>${JSON.stringify({ name: c.name, arguments: args }).replace(/<\/tool_call/g, "<\\/tool_call")}</tool_call>`;
  });
  return [ENVELOPE_OPEN, ...items, ENVELOPE_CLOSE].join("\n");
}

/** Header of a tool result block in the history. */
export function toolResultHeader(callId: string | undefined, name: string | undefined, isError: boolean | undefined): string {
  const who = [callId ?? "", name ? `(${name})` : ""].filter(Boolean).join(" ");
  return `[tool ${isError ? "error" : "result"}${who ? ` for ${who}` : ""}]`;
}
