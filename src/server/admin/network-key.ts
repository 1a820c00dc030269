import { randomBytes } from "node:crypto";
import { listensOnLoopback } from "../api/guards.js";
import type { RuntimeConfig } from "../config/env.js";
import { splitKeys } from "../config/env.js";
import type { SettingsService } from "../config/settings.js";

/**
 * Listening beyond loopback (HOST=0.0.0.0, Docker) with no client key would hand the accounts to
 * everyone on the network. On such a start a key is generated and stored as grok.api_key (the
 * admin page shows it), unless GROK2API_API_KEY is set, a key is stored already, or
 * grok.trusted_network says the network is trusted. Returns the key when it was generated now.
 */
export async function ensureNetworkKey(runtime: RuntimeConfig, settings: SettingsService): Promise<string | null> {
  if (listensOnLoopback(runtime.host) || runtime.apiKeys) return null;
  const g = settings.value.grok;
  if (g.trusted_network || splitKeys(g.api_key).length) return null;
  const key = `sk-g2a-${randomBytes(24).toString("base64url")}`;
  const stored = await settings.update({ grok: { api_key: key } });
  return stored.grok.api_key === key ? key : null;
}
