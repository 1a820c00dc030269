/**
 * Readers of grok.com frame values for the frame parser (frames.ts): tolerant scalar reads, JSON
 * strings that hold objects, the web and X search result lists as Sources, and the tool names of
 * the REST `toolUsageCard` keys.
 */
import type { Source } from "../core/events.js";

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
export const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
export const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : null);

export function parseJsonData(v: unknown): Obj | null {
  if (isObj(v)) return v;
  if (typeof v === "string") {
    try {
      const o = JSON.parse(v);
      return isObj(o) ? o : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** Web results, whatever the frame family calls their fields ({url, title, snippet | preview}); entries without a url are skipped. */
export function webSources(list: unknown): Source[] {
  if (!Array.isArray(list)) return [];
  const out: Source[] = [];
  for (const w of list.filter(isObj)) {
    const url = str(w.url);
    if (url) out.push({ url, title: str(w.title), snippet: str(w.snippet) ?? str(w.preview) });
  }
  return out;
}

/** X posts ({username | userhandle, postId | post_id, name, text}) as sources linking to the post. */
export function xPostSources(list: unknown): Source[] {
  if (!Array.isArray(list)) return [];
  const out: Source[] = [];
  for (const x of list.filter(isObj)) {
    const user = str(x.username) ?? str(x.userhandle);
    const id = str(x.postId) ?? str(x.post_id);
    if (user && id) out.push({ url: `https://x.com/${user}/status/${id}`, title: str(x.name) ?? `@${user}`, snippet: str(x.text) });
  }
  return out;
}

export const TOOL_KEY_NAMES: Record<string, string> = {
  webSearch: "web_search",
  xSearch: "x_search",
  browsePage: "browse_page",
  searchImages: "search_images",
  codeExecution: "code_execution",
  chatroomSend: "chatroom_send",
};
