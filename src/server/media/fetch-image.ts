import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import type { Agent, buildConnector } from "undici";
import { ProxyError } from "../errors.js";
import { sniffImageType } from "../grok/upload.js";
import { redactUrl, type Logger } from "../log.js";
import { addressBlockedReason, blockedReason, parseIp } from "../net/address-guard.js";
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
/** Redirect hops followed per image; every hop is checked like the first URL. */
export const MAX_REDIRECTS = 5;
/** Whole-fetch deadline (connect, headers, body) per image, whatever the server's pace. */
export const FETCH_DEADLINE_MS = 20_000;

/** The one message a client gets for a refused address or any network failure (the detail goes to the log). */
const GENERIC = "the image could not be fetched";

/** Kept for callers of the old API: true when the address string must not be fetched from. */
export function isPrivateAddress(ip: string): boolean {
  return addressBlockedReason(ip) !== null;
}

class RefusedAddress extends Error {
  readonly code = "EREFUSEDADDRESS";
}

/** DNS lookup that refuses names resolving to any non-public address (checked at connect time: no rebinding window). */
function guardedLookup(hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, []);
    if (!addresses.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), []);
    for (const a of addresses) {
      const why = addressBlockedReason(a.address);
      if (why) return callback(new RefusedAddress(`${hostname} resolves to ${a.address} (${why})`), []);
    }
    if ((options as { all?: boolean }).all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/**
 * The connector of the public agent: names resolve through guardedLookup, and the socket's
 * connected address is checked once more before a byte of HTTP is sent, so whatever path the
 * address took (literal, DNS, happy eyeballs), the address connected to is one that was checked.
 */
function guardedConnector(): buildConnector.connector {
  const base = loadUndici().buildConnector({ lookup: guardedLookup as never, timeout: 10_000 });
  return (opts, callback) => {
    base(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error("no socket"), null);
      const remote = (socket as Socket).remoteAddress;
      const why = remote ? addressBlockedReason(remote) : "no remote address";
      if (why) {
        socket.destroy();
        return callback(new RefusedAddress(`connected to ${remote} (${why})`), null);
      }
      callback(null, socket);
    });
  };
}

const agentOptions = { headersTimeout: 15_000, bodyTimeout: 15_000, connections: 16 };
/** undici and the two agents are made on the first image fetch, not at start-up. */
const lazyRequire = createRequire(import.meta.url);
let undici: typeof import("undici") | null = null;
const loadUndici = () => (undici ??= lazyRequire("undici") as typeof import("undici"));
let agents: { publicAgent: Agent; anyAgent: Agent } | null = null;
const dispatchers = () => (agents ??= { publicAgent: new (loadUndici().Agent)({ ...agentOptions, connect: guardedConnector() }), anyAgent: new (loadUndici().Agent)(agentOptions) });

interface FetchOptions {
  allowPrivate: boolean;
  signal?: AbortSignal | undefined;
  log?: Logger | undefined;
}

function refuse(param: string, message: string, detail: string, log: Logger | undefined, url: URL): never {
  log?.info("image fetch refused", { param, url: redactUrl(url.href), detail });
  throw new ProxyError(400, "invalid_value", `${param}: ${message}`, { param, cause: new Error(detail) });
}

/** The scheme and, for IP literals, the address of one hop (names are checked at connect time). */
function checkHop(u: URL, param: string, opts: FetchOptions): void {
  if (u.protocol !== "http:" && u.protocol !== "https:") refuse(param, "only http and https image URLs are fetched", `scheme ${u.protocol}`, opts.log, u);
  if (u.username || u.password) refuse(param, "image URLs with credentials are not fetched", "credentials in URL", opts.log, u);
  if (opts.allowPrivate) return;
  const ip = parseIp(u.hostname);
  const why = ip ? blockedReason(ip) : null;
  if (why) refuse(param, "private, loopback and link-local addresses are not fetched", why, opts.log, u);
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** Downloads an image from a client-supplied URL, without grok cookies; private addresses refused unless allowed. */
export async function fetchImage(url: string, param: string, allowPrivateOrOpts: boolean | FetchOptions, signal?: AbortSignal): Promise<UploadFile> {
  const opts: FetchOptions = typeof allowPrivateOrOpts === "boolean" ? { allowPrivate: allowPrivateOrOpts, signal } : allowPrivateOrOpts;
  const deadline = AbortSignal.timeout(FETCH_DEADLINE_MS);
  const abort = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new ProxyError(400, "invalid_value", `${param} is not a valid URL`, { param });
  }
  const failed = (err: unknown): never => {
    const cause = (err as { cause?: Error }).cause;
    const detail = deadline.aborted ? `no complete answer within ${FETCH_DEADLINE_MS} ms` : opts.signal?.aborted ? "the client went away" : `${(err as Error).message}${cause?.message ? `: ${cause.message}` : ""}`;
    return refuse(param, GENERIC, detail, opts.log, current);
  };

  for (let hop = 0; ; hop++) {
    checkHop(current, param, opts);
    let res;
    try {
      res = await loadUndici().fetch(current, { dispatcher: opts.allowPrivate ? dispatchers().anyAgent : dispatchers().publicAgent, redirect: "manual", signal: abort, headers: { accept: "image/*" } });
    } catch (err) {
      failed(err);
    }
    if (REDIRECT.has(res!.status)) {
      const location = res!.headers.get("location");
      await res!.body?.cancel().catch(() => {});
      if (!location) refuse(param, GENERIC, `HTTP ${res!.status} without Location`, opts.log, current);
      if (hop >= MAX_REDIRECTS) refuse(param, `more than ${MAX_REDIRECTS} redirects`, `redirect loop or chain at ${hop + 1} hops`, opts.log, current);
      try {
        current = new URL(location!, current);
      } catch {
        refuse(param, GENERIC, "unparseable Location", opts.log, current);
      }
      continue;
    }
    if (!res!.ok) {
      await res!.body?.cancel().catch(() => {});
      throw new ProxyError(400, "invalid_value", `${param}: the image URL answered HTTP ${res!.status}`, { param });
    }
    const declared = Number(res!.headers.get("content-length") ?? NaN);
    if (declared > MAX_IMAGE_BYTES) {
      await res!.body?.cancel().catch(() => {});
      throw new ProxyError(400, "invalid_value", `${param}: image larger than 32 MiB`, { param });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res!.body ?? []) {
        size += (chunk as Uint8Array).length;
        if (size > MAX_IMAGE_BYTES) throw new ProxyError(400, "invalid_value", `${param}: image larger than 32 MiB`, { param });
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
    } catch (err) {
      if (err instanceof ProxyError) throw err;
      failed(err);
    }
    const data = Buffer.concat(chunks);
    const mime = sniffImageType(data);
    if (!mime) throw new ProxyError(400, "invalid_value", `${param}: the URL did not return a PNG, JPEG, WebP or GIF image`, { param });
    const ext = mime.split("/")[1] === "jpeg" ? "jpg" : mime.split("/")[1];
    const base = current.pathname.split("/").pop() || "image";
    return { name: /\.[a-z0-9]+$/i.test(base) ? base : `${base}.${ext}`, mime, data };
  }
}

/**
 * Turns parsed attachments into uploadable files, enforcing the limits of §6.3. Pass the
 * request's abort signal so a client that goes away stops the downloads; refusals and network
 * failures are logged to `log` with their detail, the client gets one generic message.
 */
export async function resolveAttachments(attachments: Attachment[], opts: { allowPrivate: boolean; signal?: AbortSignal; log?: Logger }): Promise<UploadFile[]> {
  if (attachments.length > MAX_ATTACHMENTS) throw new ProxyError(400, "invalid_value", `at most ${MAX_ATTACHMENTS} images per request`, { param: "messages" });
  const files: UploadFile[] = [];
  let total = 0;
  for (const [i, a] of attachments.entries()) {
    const param = a.param ?? `attachment ${i + 1}`;
    let file: UploadFile;
    if (a.kind === "url") file = await fetchImage(a.url, param, { allowPrivate: opts.allowPrivate, signal: opts.signal, log: opts.log });
    else {
      const sniffed = sniffImageType(a.data);
      if (!sniffed) throw new ProxyError(400, "invalid_value", `${param}: the data is not a PNG, JPEG, WebP or GIF image`, { param });
      if (sniffed !== a.mime) throw new ProxyError(400, "invalid_value", `${param}: declared ${a.mime} but the data is ${sniffed}`, { param });
      if (a.data.length > MAX_IMAGE_BYTES) throw new ProxyError(400, "invalid_value", `${param}: image larger than 32 MiB`, { param });
      file = { name: a.name, mime: a.mime, data: a.data };
    }
    total += file.data.length;
    if (total > MAX_TOTAL_BYTES) throw new ProxyError(413, "payload_too_large", "images exceed 64 MiB in total", { param: "messages" });
    files.push(file);
  }
  return files;
}
