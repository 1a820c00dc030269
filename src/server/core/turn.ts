/**
 * The Turn: one client request in protocol-neutral form. Every protocol adapter
 * (src/server/protocols/<id>/parse-request.ts) turns its wire request into a Turn; the runner
 * (src/server/runner/) serves any Turn: model lookup, prompt, leasing and failover, output
 * shaping, tool-call extraction. Nothing here knows a wire format.
 */

/** Roles after normalisation: `developer` is `system`; OpenAI `function` is `tool`. */
export type TurnRole = "system" | "user" | "assistant" | "tool";

/** A tool call the assistant made (in history) or makes (in output). `arguments` is JSON text. */
export interface TurnToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface TurnMessage {
  role: TurnRole;
  text: string;
  /** role "tool": the call this result answers. */
  toolCallId?: string;
  /** role "tool": the tool's name when the protocol says it (Anthropic does not; it is looked up from the call). */
  toolName?: string;
  /** role "tool": the result is an error (Anthropic `is_error`). */
  isError?: boolean;
  /** role "assistant": the calls it made. */
  toolCalls?: TurnToolCall[];
}

/** An input image taken from a message, uploaded to grok.com with the account that answers. */
export type Attachment = (
  | { kind: "data"; mime: string; data: Buffer; name: string }
  | { kind: "url"; url: string; name: string }
) & {
  /** The request field it came from (e.g. `messages[0].content[1].image_url.url`), named in 400s. */
  param?: string;
};

/** A client-declared tool (function). `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  /** Freeform tool taking one string (Responses `custom` tools such as apply_patch): offered as a function with one string parameter `input`. */
  freeform?: boolean;
}

export type ToolChoice = { type: "auto" } | { type: "none" } | { type: "required" } | { type: "tool"; name: string };

export interface Turn {
  /** Adapter id that parsed it (openai, anthropic, responses). */
  protocol: string;
  /** The model id exactly as the client sent it (mapped by the runner: catalogue, then model_map). */
  model: string;
  messages: TurnMessage[];
  attachments: Attachment[];
  tools: ToolSpec[];
  toolChoice: ToolChoice;
  parallelToolCalls: boolean;
  stream: boolean;
  /** Stop sequences, applied locally. */
  stop: string[];
  /** Limit on estimated answer tokens; null = none. */
  maxTokens: number | null;
  /** The client asked for no reasoning output (reasoning_effort none/minimal, thinking disabled). */
  hideReasoning: boolean;
  /** Protocol-private options that only the same adapter's renderer reads back (e.g. OpenAI include_usage). */
  extra: Record<string, unknown>;
}
