import { describe, expect, it } from "vitest";
import type { ToolSpec, TurnMessage } from "../../../src/server/core/turn.js";
import { flattenMessages } from "../../../src/server/protocols/flatten.js";
import { parseToolCalls } from "../../../src/server/protocols/tools/parse.js";
import { choiceRule, toolInstructions, toolReminder } from "../../../src/server/protocols/tools/prompt.js";
import { REMINDER_LIMIT, compactReminders, shortenReminder } from "../../../src/server/protocols/tools/reminders.js";

const tools: ToolSpec[] = [
  { name: "Read", description: "Reads a file.", parameters: { type: "object", properties: { file_path: { type: "string" } }, required: ["file_path"] } },
  { name: "Bash", description: "Runs a command.", parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] } },
];
const auto = { tools, toolChoice: { type: "auto" as const }, parallel: true };
const instr = `[system]\n${toolInstructions(tools, { type: "auto" }, true)}`;
const reminder = `[system]\n${toolReminder({ type: "auto" }, true)}`;

describe("flattenMessages with tools", () => {
  it("puts the instruction block before a lone user message (no longer sent unchanged)", () => {
    expect(flattenMessages([{ role: "user", text: " List files " }], auto)).toBe(`${instr}\n\n[user]\nList files`);
    // Without tools, or with tool_choice none, the lone message is still sent as it is.
    expect(flattenMessages([{ role: "user", text: " List files " }], { tools: [] })).toBe("List files");
    expect(flattenMessages([{ role: "user", text: " List files " }], { tools, toolChoice: { type: "none" } })).toBe("List files");
  });

  it("places it right before the latest user turn, after system prompts and earlier turns", () => {
    const out = flattenMessages(
      [
        { role: "system", text: "You are a coding agent." },
        { role: "user", text: "Hi" },
        { role: "assistant", text: "Hello." },
        { role: "user", text: "Read a.ts" },
      ],
      auto,
    );
    expect(out).toBe(`[system]\nYou are a coding agent.\n\n[user]\nHi\n\n[assistant]\nHello.\n\n${instr}\n\n[user]\nRead a.ts`);
  });

  it("writes earlier calls in the envelope and results by id and tool name; a reminder ends a tool round", () => {
    const msgs: TurnMessage[] = [
      { role: "user", text: "Check a.ts and run the tests" },
      {
        role: "assistant",
        text: "<think>plan</think>Looking.",
        toolCalls: [
          { id: "toolu_1", name: "Read", arguments: '{"file_path":"a.ts"}' },
          { id: "toolu_2", name: "Bash", arguments: '{"command":"npm test"}' },
        ],
      },
      { role: "tool", toolCallId: "toolu_1", text: "export const a = 1;\n" },
      { role: "tool", toolCallId: "toolu_2", toolName: "Bash", text: "1 failing", isError: true },
      { role: "tool", toolCallId: "toolu_3", text: "" },
    ];
    const out = flattenMessages(msgs, auto);
    expect(out).toBe(
      [
        instr,
        "[user]\nCheck a.ts and run the tests",
        '[assistant]\nLooking.\n<tool_calls>\n<tool_call>{"name":"Read","arguments":{"file_path":"a.ts"}}</tool_call>\n<tool_call>{"name":"Bash","arguments":{"command":"npm test"}}</tool_call>\n</tool_calls>',
        "[tool result for toolu_1 (Read)]\nexport const a = 1;",
        "[tool error for toolu_2 (Bash)]\n1 failing",
        "[tool result for toolu_3]\n(no output)",
        reminder,
      ].join("\n\n"),
    );
    // The history is in the same envelope the parser reads: the model imitates a working form.
    const assistantBlock = out.split("\n\n").find((b) => b.startsWith("[assistant]"))!;
    expect(parseToolCalls(assistantBlock, tools).calls.map((c) => c.name)).toEqual(["Read", "Bash"]);
  });

  it("with Claude Code's shape (tool results, then a user turn of reminders) the block sits near the end", () => {
    const out = flattenMessages(
      [
        { role: "user", text: "Write hello.txt" },
        { role: "assistant", text: "", toolCalls: [{ id: "toolu_1", name: "Bash", arguments: '{"command":"ls"}' }] },
        { role: "tool", toolCallId: "toolu_1", text: "a.txt" },
        { role: "user", text: "<system-reminder>The todo list is empty.</system-reminder>" },
      ],
      auto,
    );
    expect(out.endsWith(`${instr}\n\n[user]\n<system-reminder>The todo list is empty.</system-reminder>`)).toBe(true);
    expect(out).not.toContain("Reminder:");
  });

  it("follows tool_choice and parallel in the block and the reminder", () => {
    const msgs: TurnMessage[] = [
      { role: "user", text: "go" },
      { role: "assistant", text: "", toolCalls: [{ id: "c1", name: "Bash", arguments: '{"command":"ls"}' }] },
      { role: "tool", toolCallId: "c1", text: "ok" },
    ];
    const out = flattenMessages(msgs, { tools, toolChoice: { type: "tool", name: "Read" }, parallel: false });
    expect(out.startsWith(`[system]\n${toolInstructions(tools, { type: "tool", name: "Read" }, false)}\n\n[user]\ngo`)).toBe(true);
    expect(out.endsWith(`[system]\n${toolReminder({ type: "tool", name: "Read" }, false)}`)).toBe(true);
  });

  it("with tool_choice none: no tool list; only the rule not to call when the history has calls", () => {
    const none = { tools, toolChoice: { type: "none" as const } };
    const withHistory = flattenMessages(
      [
        { role: "user", text: "go" },
        { role: "assistant", text: "", toolCalls: [{ id: "c1", name: "Bash", arguments: '{"command":"ls"}' }] },
        { role: "tool", toolCallId: "c1", text: "ok" },
        { role: "user", text: "summarise" },
      ],
      none,
    );
    expect(withHistory).toContain(`[system]\n${choiceRule({ type: "none" })}\n\n[user]\nsummarise`);
    expect(withHistory).not.toContain("## Bash");
    expect(flattenMessages([{ role: "system", text: "s" }, { role: "user", text: "u" }], none)).toBe("[system]\ns\n\n[user]\nu");
  });

  it("appends the block when there is no user turn at all", () => {
    expect(flattenMessages([{ role: "system", text: "s" }], auto)).toBe(`[system]\ns\n\n${instr}`);
  });
});

describe("system-reminder noise", () => {
  const long = "As you answer the user's questions, you can use the following context:\n" + "# claudeMd\n" + "Project rules line.\n".repeat(200);

  it("keeps a long reminder's first line and a bounded part of the rest", () => {
    const s = shortenReminder(long);
    expect(s.startsWith("As you answer the user's questions, you can use the following context:\n# claudeMd\nProject rules line.")).toBe(true);
    expect(s.length).toBeLessThanOrEqual(REMINDER_LIMIT + 80);
    expect(s).toMatch(/… \[\d+ more characters of this reminder left out\]$/);
    expect(shortenReminder("  short one  ")).toBe("short one");
    expect(shortenReminder("\n\n" + "x".repeat(300) + "\nrest", 100).startsWith("x".repeat(200) + "…")).toBe(true);
  });

  it("drops earlier copies of a repeated reminder and leaves short unique ones as written", () => {
    const r = "<system-reminder>Todo list empty.</system-reminder>";
    const out = compactReminders([`Hi\n\n${r}`, null, `Next\n${r}\n<system-reminder>Other.</system-reminder>`]);
    expect(out).toEqual(["Hi", null, `Next\n${r}\n<system-reminder>Other.</system-reminder>`]);
  });

  it("is applied to user and tool text in the prompt, not to assistant text", () => {
    const big = `<system-reminder>${long}</system-reminder>`;
    const out = flattenMessages(
      [
        { role: "user", text: `Fix it\n${big}` },
        { role: "assistant", text: "Quoting: <system-reminder>x</system-reminder>", toolCalls: [{ id: "c1", name: "Read", arguments: '{"file_path":"a"}' }] },
        { role: "tool", toolCallId: "c1", text: `contents\n${big}` },
      ],
      auto,
    );
    expect(out.length).toBeLessThan(long.length);
    expect(out.match(/<system-reminder>/g)).toHaveLength(2); // the user's copy dropped (repeated later), the assistant's kept
    expect(out).toContain(`[tool result for c1 (Read)]\ncontents\n<system-reminder>\n${shortenReminder(long)}\n</system-reminder>`);
    expect(out).toContain("[user]\nFix it\n\n");
  });

  it("leaves a lone user message without tools unchanged, reminders included", () => {
    const text = `Fix it\n<system-reminder>${long}</system-reminder>`;
    expect(flattenMessages([{ role: "user", text }])).toBe(text);
  });
});
