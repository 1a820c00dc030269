import type { ProtocolAdapter } from "./adapter.js";
import { anthropicAdapter } from "./anthropic/adapter.js";
import { openaiAdapter } from "./openai/adapter.js";

/** Every client protocol by id; a new protocol is one folder plus one line here and one route. */
export const ADAPTERS: Record<string, ProtocolAdapter> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
};

/** Which protocol a client path speaks (for errors raised before the route runs: auth, 404, bad JSON). */
export function adapterForPath(path: string): ProtocolAdapter {
  if (/^(\/v1)?\/messages(\/|$)/.test(path)) return ADAPTERS.anthropic!;
  return ADAPTERS.openai!;
}
