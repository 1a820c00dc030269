/**
 * The manager's only way to the server: same-origin HTTP to the admin API. The session is the
 * HttpOnly cookie set by POST /api/login (so it survives reloads and reaches other tabs, and
 * script never holds it); a desktop window may instead be handed a token (Bearer). Any 401 means
 * the session ended: the page goes to /login and comes back here afterwards.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

/** The server did not answer at all (stopped, network down). */
export class NetworkError extends Error {}

let bearer: string | null = null;
let onExpired: (() => void) | null = null;

/** A token for `Authorization: Bearer` (the desktop window's), instead of the cookie. */
export function useBearer(token: string | null): void {
  bearer = token;
}

export function onSessionExpired(fn: (() => void) | null): void {
  onExpired = fn;
}

export const usingBearer = () => bearer !== null;

/**
 * Downloads an admin file (exports). With the cookie a plain link does it; with a Bearer token
 * (the desktop window) the file is fetched with the header and saved from a blob.
 */
export async function download(path: string, e: { preventDefault(): void }): Promise<void> {
  if (!bearer) return; // the <a download> link follows with the cookie
  e.preventDefault();
  const res = await fetch(path, { headers: authHeaders(), credentials: "same-origin" });
  if (res.status === 401) {
    onExpired?.();
    return;
  }
  if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`);
  const name = /filename="?([^";]+)"?/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "export";
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function authHeaders(): Record<string, string> {
  return bearer ? { authorization: `Bearer ${bearer}` } : {};
}

export interface RequestOptions {
  /** Raw text body (imports) instead of JSON. */
  text?: string;
  signal?: AbortSignal;
  /** Do not treat 401 as an ended session (the login form itself). */
  allow401?: boolean;
}

export async function api<T = unknown>(method: "GET" | "POST", path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...authHeaders() };
  let payload: string | undefined;
  if (opts.text !== undefined) {
    headers["content-type"] = "text/plain; charset=utf-8";
    payload = opts.text;
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: "same-origin", cache: "no-store", ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new NetworkError((err as Error).message);
  }
  let json: unknown = null;
  const text = await res.text();
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const obj = (json && typeof json === "object" ? json : {}) as { message?: string; code?: string; error?: { message?: string; code?: string } };
  if (res.status === 401 && !opts.allow401) {
    onExpired?.();
    throw new ApiError(401, obj.message ?? "Session expired", "unauthorized", json);
  }
  if (!res.ok) throw new ApiError(res.status, obj.message ?? obj.error?.message ?? `HTTP ${res.status}`, obj.code ?? obj.error?.code ?? null, json);
  return json as T;
}

export const get = <T>(path: string, opts?: RequestOptions) => api<T>("GET", path, undefined, opts);
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) => api<T>("POST", path, body ?? {}, opts);

/** Server-sent events over fetch (works with the cookie and with a Bearer token, unlike EventSource). */
export async function streamEvents(path: string, onEvent: (event: string, data: string) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { headers: { accept: "text/event-stream", ...authHeaders() }, credentials: "same-origin", cache: "no-store", signal });
  if (res.status === 401) {
    onExpired?.();
    throw new ApiError(401, "Session expired", "unauthorized");
  }
  if (!res.ok || !res.body) throw new ApiError(res.status, `HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  }
}
