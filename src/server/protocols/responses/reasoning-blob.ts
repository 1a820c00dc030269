/**
 * The `encrypted_content` of reasoning items. OpenAI's is an encrypted blob only its servers can
 * read; this proxy has no secret worth keeping from the client, so its blob is plain base64 of a
 * small JSON document: `{"g2a":1,"id":"rs_…","text":"<reasoning summary>"}`. It is opaque to
 * clients (Codex passes it back untouched with `store:false`) and readable by the proxy.
 *
 * What comes back is never trusted: it is size-capped, decoded defensively and shape-checked,
 * and a blob that is not ours (another provider's, or garbage) is simply not ours — the caller
 * drops it. Old reasoning is never re-read into the prompt either way (flatten.ts: the model
 * should not re-read its old thoughts); reading it back only tells a returning item apart.
 */
const VERSION = 1;
/** Blobs above this size are not decoded (ours hold one reasoning summary). */
export const MAX_BLOB_CHARS = 1024 * 1024;

export interface ReasoningBlob {
  id: string;
  text: string;
}

export function encodeReasoningBlob(b: ReasoningBlob): string {
  return Buffer.from(JSON.stringify({ g2a: VERSION, id: b.id, text: b.text }), "utf8").toString("base64");
}

/** The blob's content when it is one of ours and well-formed, else null. */
export function decodeReasoningBlob(blob: unknown): ReasoningBlob | null {
  if (typeof blob !== "string" || !blob || blob.length > MAX_BLOB_CHARS) return null;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(blob, "base64").toString("utf8"));
  } catch {
    return null;
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return null;
  const d = doc as Record<string, unknown>;
  if (d.g2a !== VERSION || typeof d.id !== "string" || !/^rs_[0-9a-f]{1,64}$/.test(d.id) || typeof d.text !== "string") return null;
  return { id: d.id, text: d.text };
}
