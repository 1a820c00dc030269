import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { Agent, fetch as undiciFetch } from "undici";
import { ProxyError } from "../errors.js";
import { sniffImageType } from "../grok/upload.js";
import type { Attachment } from "../protocols/attachments.js";

/** A file ready for upload. */
export interface UploadFile {
  name: string;
  mime: string;
  data: Uint8Array;
}

export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;
export const MAX_ATTACHMENTS = 8;
export const MAX_TOTAL_BYTES = 64 * 1024 * 1024;

/** Loopback, private, link-local, CGNAT, multicast and unspecified ranges (IPv4 and IPv6). */
export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split(".").map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224;
  }
  const v = ip.toLowerCase();
  if (v.startsWith("::ffff:")) return isPrivateAddress(v.slice(7));
  return v === "::" || v === "::1" || v.startsWith("fc") || v.startsWith("fd") || v.startsWith("fe80") || v.startsWith("ff");
}

/** DNS lookup that refuses private addresses at connect time (no rebinding window). */
function guardedLookup(hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(Object.assign(new Error(`refusing to fetch from private address ${bad.address}`), { code: "EPRIVATE" }), []);
    const all = (options as { all?: boolean }).all;
    if (all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

const publicAgent = new Agent({ connect: { lookup: guardedLookup as never }, headersTimeout: 30_000, bodyTimeout: 60_000 });
const anyAgent = new Agent({ headersTimeout: 30_000, bodyTimeout: 60_000 });

/** Downloads an image from a client-supplied URL, without grok cookies; private addresses refused unless allowed. */
export async function fetchImage(url: string, param: string, allowPrivate: boolean, signal?: AbortSignal): Promise<UploadFile> {
  const u = new URL(url);
  if (!allowPrivate && isIP(u.hostname.replace(/^\[|\]$/g, "")) && isPrivateAddress(u.hostname.replace(/^\[|\]$/g, "")))
    throw new ProxyError(400, "invalid_value", `${param}: private or loopback addresses are not fetched`, { param });
  let res;
  try {
    res = await undiciFetch(url, { dispatcher: allowPrivate ? anyAgent : publicAgent, redirect: "follow", signal: signal ?? null, headers: { accept: "image/*" } });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new ProxyError(400, "invalid_value", `${param}: could not fetch the image (${cause})`, { param });
  }
  if (!res.ok) throw new ProxyError(400, "invalid_value", `${param}: the image URL answered HTTP ${res.status}`, { param });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > MAX_IMAGE_BYTES) throw new ProxyError(413, "payload_too_large", `${param}: image larger than 32 MiB`, { param });
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  const data = Buffer.concat(chunks);
  const mime = sniffImageType(data);
  if (!mime) throw new ProxyError(400, "invalid_value", `${param}: the URL did not return a PNG, JPEG, WebP or GIF image`, { param });
  const ext = mime.split("/")[1] === "jpeg" ? "jpg" : mime.split("/")[1];
  const base = u.pathname.split("/").pop() || "image";
  return { name: /\.[a-z0-9]+$/i.test(base) ? base : `${base}.${ext}`, mime, data };
}

/** Turns parsed attachments into uploadable files, enforcing the limits of §6.3. */
export async function resolveAttachments(attachments: Attachment[], opts: { allowPrivate: boolean; signal?: AbortSignal }): Promise<UploadFile[]> {
  if (attachments.length > MAX_ATTACHMENTS) throw new ProxyError(400, "invalid_value", `at most ${MAX_ATTACHMENTS} images per request`, { param: "messages" });
  const files: UploadFile[] = [];
  let total = 0;
  for (const [i, a] of attachments.entries()) {
    const param = `attachment ${i + 1}`;
    let file: UploadFile;
    if (a.kind === "url") file = await fetchImage(a.url, param, opts.allowPrivate, opts.signal);
    else {
      const sniffed = sniffImageType(a.data);
      if (!sniffed) throw new ProxyError(400, "invalid_value", `${param}: the data is not a PNG, JPEG, WebP or GIF image`, { param: "messages" });
      if (sniffed !== a.mime) throw new ProxyError(400, "invalid_value", `${param}: declared ${a.mime} but the data is ${sniffed}`, { param: "messages" });
      if (a.data.length > MAX_IMAGE_BYTES) throw new ProxyError(413, "payload_too_large", `${param}: image larger than 32 MiB`, { param: "messages" });
      file = { name: a.name, mime: a.mime, data: a.data };
    }
    total += file.data.length;
    if (total > MAX_TOTAL_BYTES) throw new ProxyError(413, "payload_too_large", "images exceed 64 MiB in total", { param: "messages" });
    files.push(file);
  }
  return files;
}
