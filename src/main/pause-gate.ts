/**
 * "Pause serving" from the tray: the client API answers 503 while the manager, the admin API and
 * /health keep working (the manager window is served by the same server). Requests already
 * running are not touched. Implemented around the server's request listener, so the server needs
 * no knowledge of it.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/**
 * The client API: OpenAI, Anthropic, Responses, speech, images and videos routes, with or without
 * /v1. Not the cached media files (`/images/<file>`, `/videos/<file>.mp4`): links already handed
 * out keep working.
 */
export const CLIENT_API_PATH =
  /^(?:\/v1)?\/(?:models|chat|completions|messages|responses|audio|embeddings|files|uploads)(?:\/|$)|^(?:\/v1)?\/images\/(?:generations|edits|variations)(?:\/|$)|^\/v1\/videos(?:\/|$)|^\/videos(?:\/[^./]+(?:\/content)?)?\/?$/;

export const PAUSED_BODY = {
  type: "error",
  error: { type: "api_paused", code: "api_paused", message: "Grok2API is paused from its tray menu; choose Resume serving to continue." },
};

export function isClientApiPath(url: string | undefined): boolean {
  const path = (url ?? "/").split("?")[0]!;
  return CLIENT_API_PATH.test(path);
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Replaces the server's request listeners with one that refuses client API calls while `paused()`. */
export function installPauseGate(server: Server, paused: () => boolean): void {
  const inner = server.listeners("request") as Listener[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (paused() && req.method !== "OPTIONS" && isClientApiPath(req.url)) {
      const body = JSON.stringify(PAUSED_BODY);
      res.writeHead(503, { "content-type": "application/json; charset=utf-8", "retry-after": "30", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
      res.end(body);
      req.resume();
      return;
    }
    for (const l of inner) l(req, res);
  });
}
