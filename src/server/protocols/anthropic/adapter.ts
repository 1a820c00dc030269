import type { ProtocolAdapter } from "../adapter.js";
import { parseAnthropicRequest } from "./parse-request.js";
import { AnthropicStream, anthropicErrorBody, anthropicStatus, renderMessage } from "./render.js";

/** Anthropic Messages (api-conformance.md §4): named SSE events, Anthropic error types, `request-id`. */
export const anthropicAdapter: ProtocolAdapter = {
  id: "anthropic",
  parse: (body) => parseAnthropicRequest(body),
  stream: (ctx) => new AnthropicStream(ctx),
  final: renderMessage,
  renderError: (err, requestId) => ({ status: anthropicStatus(err), body: anthropicErrorBody(err, requestId) }),
  headers: (requestId) => ({ "request-id": requestId }),
};
