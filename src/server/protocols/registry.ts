import type { ProtocolAdapter } from "./adapter.js";
import { anthropicAdapter } from "./anthropic/adapter.js";
import { openaiAdapter } from "./openai/adapter.js";
import { responsesAdapter } from "./responses/adapter.js";

/** Every client protocol by id; a new protocol is one folder plus one line here and one route. */
export const ADAPTERS: Record<string, ProtocolAdapter> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  responses: responsesAdapter,
};

/** Which protocol a client path speaks (for errors raised before the route runs: auth, 404, bad JSON). */
export function adapterForPath(path: string): ProtocolAdapter {
  if (/^(\/v1)?\/messages(\/|$)/.test(path)) return ADAPTERS.anthropic!;
  if (/^(\/v1)?\/responses(\/|$)/.test(path)) return ADAPTERS.responses!;
  return ADAPTERS.openai!;
}
