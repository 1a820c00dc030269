import type { TurnMessage, TurnRole } from "../core/turn.js";

/**
 * Flattening of a multi-message conversation into the single prompt grok.com takes per turn
 * (grok-protocol.md §4.4). The rule, kept stable:
 *
 * - A conversation that is exactly one user message is sent as that text, unchanged.
 * - Otherwise every message becomes a block `[role]\n<text>` in the original order, blocks
 *   separated by a blank line. Roles are lower-case: system, user, assistant, tool
 *   (`developer` is shown as system). System prompts keep their position and label, so the
 *   model sees them as instructions rather than as part of the user's words.
 * - Assistant tool calls are written as `[assistant tool call <id>] <name>(<arguments JSON>)`,
 *   tool results as a `[tool result for <id>]` block.
 * - Reasoning sent back by clients (`reasoning_content`, `<think>…</think>`) is removed from
 *   assistant history: the model should not re-read its old thoughts.
 * - Images and files are not text: their place is marked `[image #n]` / `[file #n: name]`
 *   and the bytes travel as attachments.
 */
export type FlatRole = TurnRole;
export type FlatMessage = TurnMessage;

export function stripThinking(text: string): string {
  return text.replace(/<think>[\s\S]*?<\/think>\s*/gi, "");
}

export function flattenMessages(messages: FlatMessage[]): string {
  const cleaned = messages.map((m) => (m.role === "assistant" ? { ...m, text: stripThinking(m.text) } : m));
  if (cleaned.length === 1 && cleaned[0]!.role === "user" && !cleaned[0]!.toolCalls?.length) return cleaned[0]!.text.trim();
  const blocks: string[] = [];
  for (const m of cleaned) {
    const lines: string[] = [];
    const text = m.text.trim();
    if (m.role === "tool") {
      blocks.push(`[tool result for ${m.toolCallId ?? "call"}]\n${text}`);
      continue;
    }
    if (text) lines.push(text);
    for (const c of m.toolCalls ?? []) lines.push(`[assistant tool call ${c.id}] ${c.name}(${c.arguments})`);
    if (!lines.length) continue;
    blocks.push(`[${m.role}]\n${lines.join("\n")}`);
  }
  return blocks.join("\n\n");
}
