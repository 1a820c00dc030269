import { classifyHttp, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, send } from "./context.js";
import { restHeaders } from "./identity.js";
import { UpstreamError } from "./upstream-error.js";

/** Image types grok.com accepts for chat attachments (grok-protocol.md §6.3), detected from content. */
export function sniffImageType(data: Uint8Array): string | null {
  const b = data;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return "image/gif";
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return "image/webp";
  return null;
}

/** A file name as browsers put it in Content-Disposition (§6.2). */
export function multipartFileName(name: string): string {
  const cleaned = name.replace(/[\r\n]/g, "").replace(/[\x00-\x1f\x7f]/g, "_").replace(/(["\\])/g, "\\$1");
  return cleaned || "upload.bin";
}

/** Builds the multipart body for `POST /http/upload-file-v2/direct` by hand so every part header is exact. */
export function uploadMultipart(file: { name: string; mime: string; data: Uint8Array }, fileSource?: string): { body: Uint8Array; contentType: string } {
  const boundary = `----WebKitFormBoundary${Math.random().toString(36).slice(2, 18)}`;
  const parts: Buffer[] = [];
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${multipartFileName(file.name)}"\r\nContent-Type: ${file.mime}\r\n\r\n`));
  parts.push(Buffer.from(file.data));
  parts.push(Buffer.from("\r\n"));
  if (fileSource) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file_source"\r\n\r\n${fileSource}\r\n`));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The attachment reference from an upload answer: fileMetadataId, else fileId, else uploadId. */
export function uploadReference(body: unknown): { id: string; fileUri: string | null; fileMetadataId: string | null } {
  const o = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const te = o.terminalError;
  const ok = te === null || te === undefined || te === false || te === 0 || te === "" || (typeof te === "object" && Object.keys(te as object).length === 0);
  if (!ok) throw failure("request", `grok.com rejected the upload: ${JSON.stringify(te).slice(0, 200)}`);
  const meta = (o.fileMetadata && typeof o.fileMetadata === "object" ? o.fileMetadata : o) as Record<string, unknown>;
  const id = [meta.fileMetadataId, meta.fileId, o.uploadId].find((v) => typeof v === "string" && v) as string | undefined;
  if (!id) throw failure("upstream_error", "upload answer carried no file id");
  return { id, fileUri: typeof meta.fileUri === "string" ? meta.fileUri : null, fileMetadataId: typeof meta.fileMetadataId === "string" && meta.fileMetadataId ? meta.fileMetadataId : null };
}

/** Where an upload is for: chat attachments (default), Imagine edits and image-to-video (Referer /imagine, own file source). */
export interface UploadOptions {
  fileSource?: string;
  referer?: string;
  signal?: AbortSignal;
}

/**
 * `POST /http/upload-file-v2/direct` (§6.2): multipart upload v2 with this account, user agent
 * and egress; resolves to the reference (`uploadReference`), throwing UpstreamError on any failure.
 */
export async function uploadV2(ctx: GrokContext, acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, opts: UploadOptions = {}): Promise<{ id: string; fileUri: string | null; fileMetadataId: string | null }> {
  const { body, contentType } = uploadMultipart(file, opts.fileSource);
  const res = await send(ctx, "/http/upload-file-v2/direct", {
    method: "POST",
    headers: restHeaders(ctx.identity(), acc.token, { requestId: false, contentType, ...(opts.referer ? { referer: opts.referer } : {}) }),
    body,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const text = await res.text();
  if (res.status !== 200) throw new UpstreamError(classifyHttp(res.status, text, res.headers));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UpstreamError(failure("upstream_error", "upload answer was not JSON"));
  }
  try {
    return uploadReference(parsed);
  } catch (f) {
    throw new UpstreamError(f as ReturnType<typeof failure>);
  }
}

/** A chat attachment: resolves to the id to attach. */
export async function uploadFile(ctx: GrokContext, acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, signal?: AbortSignal): Promise<string> {
  return (await uploadV2(ctx, acc, file, signal ? { signal } : {})).id;
}
