import { collect } from "../../shared/web-streams.js";
import type { UpstreamResponse } from "./transport.js";

/**
 * Pieces every HTTP transport shares (transport.ts, impit-worker-host.ts): the response object
 * over a streamed body, and a FormData body encoded to bytes.
 */

/** An UpstreamResponse over a streamed body: bytes() and text() read it whole; cancel() stops it. */
export function streamedResponse(status: number, headers: Headers, body: AsyncIterable<Uint8Array>, cancel: () => void): UpstreamResponse {
  return {
    status,
    headers,
    body,
    bytes: () => collect(body),
    text: async () => Buffer.from(await collect(body)).toString("utf8"),
    cancel,
  };
}

/** A FormData body as multipart bytes; `headers` gets its content-type (replacing the caller's, in any case). */
export async function encodeFormData(form: FormData, headers: Record<string, string>): Promise<Uint8Array<ArrayBuffer>> {
  const encoded = new Response(form);
  for (const k of Object.keys(headers)) if (k.toLowerCase() === "content-type") delete headers[k];
  headers["content-type"] = encoded.headers.get("content-type")!;
  return new Uint8Array(await encoded.arrayBuffer());
}
