import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ToolSpec } from "../../../src/server/core/turn.js";

/** Tools shaped like the ones Claude Code, Codex and OpenAI examples declare. */
const S = (properties: Record<string, unknown>, required: string[]) => ({
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

export const TOOLS: ToolSpec[] = [
  { name: "Read", description: "Reads a file from the local filesystem.", parameters: S({ file_path: { type: "string" }, offset: { type: "number" }, limit: { type: "number" } }, ["file_path"]) },
  { name: "Write", description: "Writes a file to the local filesystem.", parameters: S({ file_path: { type: "string" }, content: { type: "string" } }, ["file_path", "content"]) },
  {
    name: "Edit",
    description: "Performs exact string replacements in files.",
    parameters: S({ file_path: { type: "string" }, old_string: { type: "string" }, new_string: { type: "string" }, replace_all: { type: "boolean" } }, ["file_path", "old_string", "new_string"]),
  },
  { name: "Bash", description: "Executes a bash command.", parameters: S({ command: { type: "string" }, description: { type: "string" }, timeout: { type: "number" } }, ["command"]) },
  { name: "get_weather", description: "Current weather for a city.", parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city"] } },
  { name: "apply_patch", description: "Applies a patch in the apply_patch format.", parameters: {}, freeform: true },
];

/** The sample tool quoted in docs/tool-calling.md (its generated blocks are checked by prompt.test.ts). */
export const DOC_TOOLS: ToolSpec[] = [
  {
    name: "get_weather",
    description: "Current weather for a city.",
    parameters: { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city"] },
  },
];

export function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), "utf8");
}

export interface FixtureCase {
  file: string;
  /** Expected calls, arguments as objects. */
  calls: Array<{ name: string; args: Record<string, unknown> }>;
  /** parseToolCalls(...).text */
  text: string;
  /** What the sieve streams (prose before the first call; the whole text when there is none). */
  streamed: string;
}

const same = (file: string, calls: FixtureCase["calls"], text: string): FixtureCase => ({ file, calls, text, streamed: text });

export const CASES: FixtureCase[] = [
  same("documented.txt", [{ name: "Read", args: { file_path: "/repo/src/index.ts" } }], "I'll look at the entry point first."),
  same(
    "documented-parallel-cjk.txt",
    [
      { name: "Bash", args: { command: 'ls -la /repo && echo "完成"', description: "列出项目文件" } },
      { name: "Read", args: { file_path: "/repo/README.md", limit: 50 } },
    ],
    "好的，我先查看一下项目结构，然后运行测试。",
  ),
  same(
    "documented-multiline-raw.txt",
    [{ name: "Write", args: { file_path: "/repo/hello.py", content: 'def greet(name):\n    """Say hello."""\n    print(f"Hello, {name}!")\n\nif __name__ == "__main__":\n\tgreet("世界")\n' } }],
    "Here is the new module.",
  ),
  same("chenyme-xml.txt", [{ name: "Bash", args: { command: "git status --short", description: "Show changed files" } }], ""),
  same("xml-name-arguments.txt", [{ name: "Read", args: { file_path: "/etc/app/config.yaml", offset: 10 } }], "Let me check the configuration."),
  same(
    "anthropic-invoke.txt",
    [{ name: "Edit", args: { file_path: "/repo/calc.py", old_string: "def add(a, b):\n    return a - b", new_string: 'def add(a, b):\n    return a + b  # was "a - b" <bug>', replace_all: false } }],
    "I'll fix the return value.",
  ),
  same(
    "namespaced-invoke.txt",
    [
      { name: "Bash", args: { command: "git diff --stat HEAD~1", timeout: 60000 } },
      { name: "Bash", args: { command: "git log --oneline -5" } },
    ],
    "Checking the working tree.",
  ),
  same("grok-xai-function-call.txt", [{ name: "Bash", args: { command: 'rg -n "parseToolCalls" src/', description: "查找调用位置" } }], "让我先搜索一下相关文件。"),
  same("fenced-json.txt", [{ name: "get_weather", args: { city: "東京", unit: "celsius" } }], "我来查一下东京的天气。"),
  {
    file: "fenced-openai-function.txt",
    calls: [{ name: "Bash", args: { command: "npm test -- --reporter=dot", timeout: 120000 } }],
    text: "Running the test suite now.\n\nI will report the results once they are in.",
    streamed: "Running the test suite now.",
  },
  same(
    "bare-json.txt",
    [
      { name: "Read", args: { file_path: "/repo/package.json" } },
      { name: "Read", args: { file_path: "/repo/tsconfig.json" } },
    ],
    "",
  ),
  same("fenced-xml.txt", [{ name: "Bash", args: { command: 'grep -rn "TODO" src/ | head -20' } }], "Sure — searching the codebase:"),
  same("broken-trailing-commas.txt", [{ name: "Bash", args: { command: "echo it's fine", description: "Echo" } }], ""),
  same("broken-missing-braces.txt", [{ name: "Bash", args: { command: "ls -1 /tmp" } }], "Listing the directory."),
  same("broken-unclosed-at-end.txt", [{ name: "Read", args: { file_path: "/repo/app.ts" } }], "One moment."),
  same("unescaped-quotes.txt", [{ name: "Write", args: { file_path: "/repo/main.go", content: 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n' } }], ""),
  same(
    "code-fence-in-args.txt",
    [
      {
        name: "Edit",
        args: {
          file_path: "/repo/README.md",
          old_string: "## Usage\n",
          new_string: '## Usage\n\n```bash\nnpm install\nnpm start -- --port 8080\n```\n\n```ts\nconst x = {"tool_calls": []};\n```\n',
        },
      },
    ],
    "I'll add a usage section to the README.",
  ),
  same("closing-tag-in-string.txt", [{ name: "Write", args: { file_path: "/repo/t.txt", content: "ends with </tool_call> and </tool_calls> inside" } }], "Updating the parser test."),
  same("flattened-aliases.txt", [{ name: "Read", args: { file_path: "/repo/x.ts", limit: 20 } }], ""),
  same("xml-children-params.txt", [{ name: "Bash", args: { command: "cat <<'EOT' > /tmp/x\na & b\nEOT", timeout: 5000 } }], ""),
  same("freeform-apply-patch.txt", [{ name: "apply_patch", args: { input: "*** Begin Patch\n*** Update File: src/a.ts\n@@\n-const a = 1;\n+const a = 2;\n*** End Patch" } }], "Applying the patch."),
  {
    file: "mixed-valid-undeclared.txt",
    calls: [{ name: "Read", args: { file_path: "/repo/a.ts" } }],
    text: '<tool_call>{"name": "Teleport", "arguments": {"to": "mars"}}</tool_call>',
    streamed: "",
  },
  {
    file: "prose-after-call.txt",
    calls: [
      { name: "Read", args: { file_path: "/a" } },
      { name: "Read", args: { file_path: "/b" } },
    ],
    text: "Reading both files.\n\nOnce I have them I'll compare. <b>done</b>",
    streamed: "Reading both files.",
  },
  // No calls: the text comes back exactly as written, envelope included.
  ...["undeclared-tool.txt", "truncated.txt", "prose-only.txt"].map((file) => same(file, [], fixture(file))),
];

/** Markup that must never reach the client when calls were found. */
export const MARKUP = /<\/?(\w+:)?(tool_calls?|function_calls|invoke|parameter|tool_name|parameters|arguments)\b|"tool_calls"|```(json|xml)?\s*$/;
