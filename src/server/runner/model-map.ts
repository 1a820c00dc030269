import type { Tier } from "../core/account.js";
import { ProxyError } from "../errors.js";
import type { ModelCatalog, ModelEntry } from "../grok/models.js";

/**
 * Model names clients send that are not catalogue ids (Claude Code sends `claude-…`) are mapped
 * by the `model_map` setting: glob patterns (`*` = any run of characters, case-insensitive),
 * first match wins, onto a catalogue id or a symbolic target chosen from the pool's tiers:
 *
 * - `@strongest`: the strongest mode the pool's accounts can use (heavy › expert › fast);
 * - `@default`: grok.com's default mode (auto) when a SuperGrok account exists, else fast;
 * - `@fast`: the fast mode.
 *
 * The defaults (config/settings-schema.ts DEFAULT_MODEL_MAP) make Claude Code work with only
 * ANTHROPIC_BASE_URL and a key.
 */
function globToRegExp(pattern: string): RegExp {
  const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`, "i");
}

function symbolTarget(symbol: string, tiers: Record<Tier, number>): string {
  const has = (t: Tier) => (tiers[t] ?? 0) > 0;
  switch (symbol) {
    case "@strongest":
      return has("heavy") ? "grok-chat-heavy" : has("super") ? "grok-chat-expert" : "grok-chat-fast";
    case "@default":
      return has("super") || has("heavy") ? "grok-chat-auto" : "grok-chat-fast";
    default:
      return "grok-chat-fast";
  }
}

/** The catalogue entry serving `id`: the id itself, else the first model_map pattern that matches. */
export function resolveModel(catalog: ModelCatalog, id: string, map: Record<string, string>, tiers: Record<Tier, number>): ModelEntry {
  const direct = catalog.get(id);
  if (direct) return direct;
  for (const [pattern, target] of Object.entries(map)) {
    if (!globToRegExp(pattern).test(id)) continue;
    const targetId = target.startsWith("@") ? symbolTarget(target, tiers) : target;
    const m = catalog.get(targetId);
    if (m) return m;
    throw new ProxyError(404, "model_not_found", `The model '${id}' is mapped by model_map ("${pattern}" → "${target}") to '${targetId}', which is not in the catalogue. Fix model_map in the settings.`, { param: "model" });
  }
  const patterns = Object.keys(map);
  const hint = patterns.length ? ` model_map maps ${patterns.map((p) => `"${p}" → "${map[p]}"`).join(", ")}; none matched.` : " model_map is empty.";
  throw new ProxyError(404, "model_not_found", `The model '${id}' does not exist. GET /v1/models lists the available ids.${hint}`, { param: "model" });
}
