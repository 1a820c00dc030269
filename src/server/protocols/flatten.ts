import type { ToolChoice, ToolSpec, TurnMessage, TurnRole } from "../core/turn.js";
import { compactReminders } from "./tools/reminders.js";
import { choiceRule, renderToolCalls, toolInstructions, toolReminder, toolResultHeader } from "./tools/prompt.js";

/**
 * Flattening of a multi-message conversation into the single prompt grok.com takes per turn
 * (grok-protocol.md §4.4; tools: docs/tool-calling.md). The rule, kept stable:
 *
 * - A conversation that is exactly one user message, without tools, is sent as that text, unchanged.
 * - Otherwise every message becomes a block `[role]\n<text>` in the original order, blocks
 *   separated by a blank line. Roles are lower-case: system, user, assistant, tool
 *   (`developer` is shown as system). System prompts keep their position and label, so the
 *   model sees them as instructions rather than as part of the user's words.
 * - Assistant tool calls are written in the tool-call envelope the model is asked to answer in
 *   (`<tool_calls>` with one `<tool_call>{"name":…,"arguments":…}</tool_call>` per call), tool
 *   results as a `[tool result for <id> (<name>)]` block (`[tool error for …]` when it failed).
 * - With tools (and tool_choice not none), the tool instruction block is a `[system]` block right
 *   before the latest user turn; when tool rounds follow that turn, a one-line `[system]`
 *   reminder ends the prompt. With tool_choice none and calls in the history, only the rule
 *   "do not call a tool" stands there.
 * - Claude Code's `<system-reminder>` notes in user and tool text are kept short (tools/reminders.ts).
 * - Reasoning sent back by clients (`reasoning_content`, `<think>…</think>`) is removed from
 *   assistant history: the model should not re-read its old thoughts.
 * - Images and files are not text: their place is marked `[image #n]` / `[file #n: name]`
 *   and the bytes travel as attachments.
 */
export type FlatRole = TurnRole;
export type FlatMessage = TurnMessage;

export interface FlattenOptions {
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  parallel?: boolean;
}

export function stripThinking(text: string): string {
  return text.replace(/<think>[\s\S]*?<\/think>\s*/gi, "");
}

export function flattenMessages(messages: FlatMessage[], opts: FlattenOptions = {}): string {
  const tools = opts.tools ?? [];
  const choice: ToolChoice = opts.toolChoice ?? { type: "auto" };
  const parallel = opts.parallel ?? true;
  const withTools = tools.length > 0 && choice.type !== "none";
  const cleaned = messages.map((m) => (m.role === "assistant" ? { ...m, text: stripThinking(m.text) } : m));
  if (!withTools && cleaned.length === 1 && cleaned[0]!.role === "user" && !cleaned[0]!.toolCalls?.length) return cleaned[0]!.text.trim();

  const texts = compactReminders(cleaned.map((m) => (m.role === "user" || m.role === "tool" ? m.text : null)));
  const names = new Map<string, string>();
  for (const m of cleaned) for (const c of m.toolCalls ?? []) names.set(c.id, c.name);

  const blocks: string[] = [];
  let latestUser = -1;
  let toolHistory = false;
  cleaned.forEach((m, i) => {
    const text = (texts[i] ?? m.text).trim();
    if (m.role === "tool") {
      toolHistory = true;
      const name = m.toolName ?? (m.toolCallId ? names.get(m.toolCallId) : undefined);
      blocks.push(`${toolResultHeader(m.toolCallId, name, m.isError)}\n${text || "(no output)"}`);
      return;
    }
    const lines: string[] = [];
    if (text) lines.push(text);
    if (m.toolCalls?.length) {
      toolHistory = true;
      lines.push(renderToolCalls(m.toolCalls));
    }
    if (!lines.length) return;
    if (m.role === "user") latestUser = blocks.length;
    blocks.push(`[${m.role}]\n${lines.join("\n")}`);
  });

  const instruction = withTools ? toolInstructions(tools, choice, parallel) : tools.length && toolHistory ? choiceRule({ type: "none" }) : null;
  if (instruction !== null) {
    const at = latestUser >= 0 ? latestUser : blocks.length;
    const after = blocks.length - at - 1;
    blocks.splice(at, 0, `[system]\n${instruction}`);
    if (withTools && latestUser >= 0 && after > 0) blocks.push(`[system]\n${toolReminder(choice, parallel)}`);
  }
  return blocks.join("\n\n");
}
