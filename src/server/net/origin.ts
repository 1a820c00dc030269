import { isLoopbackHostname } from "./address-guard.js";

/** Browser origins (`scheme://host[:port]`), as CORS and the cross-site checks compare them. */

/** Normalises an origin (`HTTPS://App.Example:443/` → `https://app.example`); null unless it is a plain http(s) origin. */
export function normalizeOrigin(entry: string): string | null {
  const e = entry.trim();
  if (!/^https?:\/\/[^/?#\s@]+\/?$/i.test(e)) return null;
  try {
    return new URL(e).origin;
  } catch {
    return null;
  }
}

/** `http(s)://localhost|127.x.x.x|[::1]` with any port. */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === "http:" || u.protocol === "https:") && isLoopbackHostname(u.hostname);
  } catch {
    return false;
  }
}

/** The problem with a comma-separated list of origins, or null when every entry is an origin. */
export function originListProblem(list: string): string | null {
  for (const raw of list.split(",")) {
    const e = raw.trim();
    if (!e) continue;
    if (e === "*") return `"*" is not accepted: with an API key set every origin may call the API already, and without one "*" would open it to every web page`;
    if (!normalizeOrigin(e)) return `${JSON.stringify(e.slice(0, 80))} is not an origin like https://chat.example.com or http://192.168.1.5:3000`;
  }
  return null;
}
