import type { UpstreamFailure } from "./failure.js";

export type { UpstreamFailure };

/** A search source (web page or X post). */
export interface Source {
  url: string;
  title: string | null;
  snippet: string | null;
}

/**
 * The typed upstream event. Every frame variant of both transports becomes one of these in
 * frames.ts; nothing above src/server/grok sees raw frames.
 */
export type GrokEvent =
  | { type: "meta"; conversationId?: string; responseId?: string; title?: string }
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string; header: boolean }
  | { type: "tool"; id: string | null; name: string; query: string | null }
  | { type: "sources"; toolId: string | null; sources: Source[] }
  /** An inline citation at the current position of the answer text. */
  | { type: "citation"; url: string; title: string | null }
  /**
   * A generated image (preview or final). `servedUrl` is set by media/ once a final image was
   * downloaded with the generating account and cached: the URL (or data: URL) clients get.
   * Only images carrying it are shown; grok.com's own asset URLs never reach a client.
   */
  | { type: "image"; id: string; url: string | null; progress: number; moderated: boolean; final: boolean; errorCode: string | null; servedUrl?: string }
  | { type: "video"; id: string; url: string | null; thumbnailUrl: string | null; progress: number; moderated: boolean }
  | { type: "error"; error: UpstreamFailure }
  /** The turn finished; `status` "completed" is success. */
  | { type: "done"; responseId: string | null; status: string };

/** True for events that carry output a client would see (used for "empty response" and commit decisions). */
export function isOutputEvent(e: GrokEvent): boolean {
  switch (e.type) {
    case "text":
      return e.text.length > 0;
    case "reasoning":
    case "tool":
    case "sources":
    case "citation":
    case "image":
    case "video":
      return true;
    default:
      return false;
  }
}

/** The end of an event iterator, shared by the iterator objects that stand in for generators (one frozen result, no allocation per end). */
export const EVENTS_DONE: IteratorResult<GrokEvent> = Object.freeze({ value: undefined, done: true }) as IteratorResult<GrokEvent>;
