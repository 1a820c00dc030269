import type { Context } from "koa";
import { ProxyError } from "../errors.js";
import { requireMediaType } from "./middleware.js";

/**
 * `multipart/form-data` bodies (POST /v1/images/edits, as `openai.images.edit` sends them):
 * read within a size limit (413), then split into fields and files with caps on the number of
 * parts, of files, and on each file's and each field's size; a wrong Content-Type is a 415.
 * Field names keep their `[]` suffix (`image[]`); repeated names are kept in order.
 */

export interface MultipartFile {
  field: string;
  filename: string;
  /** Declared part Content-Type ("" when absent). */
  type: string;
  data: Buffer;
}

export interface MultipartBody {
  fields: Map<string, string[]>;
  files: MultipartFile[];
}

export interface MultipartLimits {
  /** Whole body. */
  maxBytes: number;
  /** Each file part. */
  maxFileBytes: number;
  maxFiles: number;
  /** Each text field. */
  maxFieldBytes: number;
  maxParts: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = {
  maxBytes: 80 * 1024 * 1024,
  maxFileBytes: 32 * 1024 * 1024,
  maxFiles: 16,
  maxFieldBytes: 64 * 1024,
  maxParts: 64,
};

const mib = (n: number) => (n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MiB` : `${Math.round(n / 1024)} KiB`);
const bad = (message: string, param: string | null = null) => new ProxyError(400, "invalid_request", message, { param });

function tooLarge(ctx: Context, what: string, limit: number, param: string | null = null): ProxyError {
  ctx.set("connection", "close");
  return new ProxyError(413, "payload_too_large", `${what} larger than ${mib(limit)}`, { param });
}

/** The boundary parameter of a multipart Content-Type (RFC 2046: 1–70 characters). */
export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

async function readRaw(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get("content-length") || NaN);
  if (declared > limit) throw tooLarge(ctx, "Request body", limit);
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge(ctx, "Request body", limit);
      parts.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    ctx.state.clientAborted = true;
    throw bad("The client closed the connection while sending the body");
  }
  return Buffer.concat(parts);
}

/** `name="…"` / `filename="…"` / `filename*=UTF-8''…` of a Content-Disposition header. */
function dispositionParam(header: string, key: string): string | null {
  const ext = new RegExp(`;\\s*${key}\\*=(?:UTF-8|utf-8)''([^;]*)`, "i").exec(header);
  if (ext) {
    try {
      return decodeURIComponent(ext[1]!.trim());
    } catch {
      return ext[1]!.trim();
    }
  }
  const quoted = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(header);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, "$1");
  const bare = new RegExp(`;\\s*${key}=([^;\\s]+)`, "i").exec(header);
  return bare ? bare[1]! : null;
}

/** Splits a multipart body already in memory. */
export function parseMultipart(body: Buffer, boundary: string, limits: Omit<MultipartLimits, "maxBytes">, onTooLarge: (what: string, limit: number, param: string) => Error): MultipartBody {
  const delim = Buffer.from(`--${boundary}`);
  const out: MultipartBody = { fields: new Map(), files: [] };
  let pos = body.indexOf(delim);
  if (pos < 0) throw bad("Malformed multipart body: no boundary delimiter");
  let parts = 0;
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString("latin1") === "--") return out; // close delimiter
    // transport padding, then CRLF
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else throw bad("Malformed multipart body: a boundary is not followed by a line break");
    const headEnd = body.indexOf("\r\n\r\n", pos);
    if (headEnd < 0 || headEnd - pos > 16 * 1024) throw bad("Malformed multipart body: part headers missing or too long");
    const headers = body.subarray(pos, headEnd).toString("utf8").split("\r\n");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delim]), headEnd + 4);
    if (next < 0) throw bad("Malformed multipart body: missing closing boundary");
    const content = body.subarray(headEnd + 4, next);
    if (++parts > limits.maxParts) throw bad(`Too many multipart parts (more than ${limits.maxParts})`);
    let disposition = "";
    let type = "";
    for (const h of headers) {
      const i = h.indexOf(":");
      if (i < 0) continue;
      const k = h.slice(0, i).trim().toLowerCase();
      const v = h.slice(i + 1).trim();
      if (k === "content-disposition") disposition = v;
      else if (k === "content-type") type = v.split(";")[0]!.trim().toLowerCase();
    }
    if (!/^form-data\b/i.test(disposition)) throw bad("Malformed multipart body: a part without Content-Disposition: form-data");
    const name = dispositionParam(disposition, "name");
    if (!name) throw bad("Malformed multipart body: a part without a name");
    const filename = dispositionParam(disposition, "filename");
    if (filename !== null) {
      if (out.files.length >= limits.maxFiles) throw bad(`Too many files (more than ${limits.maxFiles})`, name);
      if (content.length > limits.maxFileBytes) throw onTooLarge(`File '${filename || name}' in part '${name}' is`, limits.maxFileBytes, name);
      out.files.push({ field: name, filename, type, data: Buffer.from(content) });
    } else {
      if (content.length > limits.maxFieldBytes) throw onTooLarge(`Field '${name}' is`, limits.maxFieldBytes, name);
      const list = out.fields.get(name) ?? [];
      list.push(content.toString("utf8"));
      out.fields.set(name, list);
    }
    pos = next + 2;
  }
}

/** Reads and parses a multipart/form-data request; 415 for any other Content-Type. */
export async function readMultipart(ctx: Context, limits: MultipartLimits = DEFAULT_MULTIPART_LIMITS): Promise<MultipartBody> {
  requireMediaType(ctx, (t) => t === "multipart/form-data", "multipart/form-data", false);
  const boundary = boundaryOf(ctx.get("content-type"));
  if (!boundary) throw new ProxyError(400, "invalid_request", "multipart/form-data without a boundary parameter", { param: "content-type" });
  const body = await readRaw(ctx, limits.maxBytes);
  return parseMultipart(body, boundary, limits, (what, limit, param) => tooLarge(ctx, what, limit, param));
}

