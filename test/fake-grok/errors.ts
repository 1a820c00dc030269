import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { STATUS_CODES } from "node:http";
import { randomHex } from "./util.js";

/** Error bodies of §10.5 (gRPC status numbers: 3 INVALID_ARGUMENT, 5 NOT_FOUND, 7 PERMISSION_DENIED, 8 RESOURCE_EXHAUSTED, 13 INTERNAL, 16 UNAUTHENTICATED). */
export const USAGE_LIMIT_MESSAGE = "You've reached your usage limit. Please try again later.";
export const ANTI_BOT_MESSAGE = "Request rejected by anti-bot rules.";
export const BLOCKED_MESSAGE = "User is blocked [WKE=unauthorized:blocked-user]";

export const bodies = {
  unauthenticated: (message = "Bad credentials") => ({ error: { code: 16, message, details: [] } }),
  antiBot: () => ({ error: { code: 7, message: ANTI_BOT_MESSAGE, details: [] } }),
  blocked: () => ({ code: 7, message: BLOCKED_MESSAGE, details: [] }),
  tooManyRequests: () => ({ error: { code: 8, message: "Too many requests", details: [] } }),
  internal: () => ({ error: { code: 13, message: "Internal error", details: [] } }),
  notFound: (message: string) => ({ error: { code: 5, message, details: [] } }),
  invalid: (message: string) => ({ error: { code: 3, message, details: [] } }),
  moderated: () => ({ error: { code: "content-moderated", message: "rejected" } }),
  modelNotFound: () => ({ error: { code: 5, message: "Model is not found", details: [] } }),
  birthDateLimit: () => ({
    error: { code: 8, message: "Birth date cannot be changed again [WKE=account:birth-date-change-limit-reached]", details: [] },
  }),
};

export interface HttpFailure {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function cfRay(): string {
  return `${randomHex(8)}-FRA`;
}

export function cloudflareChallengeHtml(ray: string): string {
  return (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>' +
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta http-equiv="X-UA-Compatible" content="IE=Edge">' +
    '<meta name="robots" content="noindex,nofollow"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    "<style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15;-webkit-text-size-adjust:100%;color:#313131}" +
    "body{display:flex;flex-direction:column;height:100vh;min-height:100vh}.main-content{margin:8rem auto;max-width:60rem;width:100%}</style>" +
    '</head><body><div class="main-wrapper" role="main"><div class="main-content"><noscript><div class="h2">' +
    '<span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></noscript></div></div>' +
    `<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "grok.com",cType: 'managed',cRay: '${ray.split("-")[0]}',` +
    `cH: '${randomHex(24)}',cUPMDTk: "\\/?__cf_chl_tk=${randomHex(20)}",cFPWv: 'b',cITimeS: '${Math.floor(Date.now() / 1000)}',` +
    "cTplV: 5,cTplB: 'cf',cK: \"\",fa: \"\\/?__cf_chl_f_tk=" + randomHex(20) + '",md: "' + randomHex(32) + '",' +
    "cRq: {ru: 'aHR0cHM6Ly9ncm9rLmNvbS8=',ra: 'TW96aWxsYS81LjA=',rm: 'R0VU',d: '" + randomHex(40) + "',t: 'MTc4NjAwMDAwMC4wMDAwMDA=',cT: Math.floor(Date.now() / 1000),m: '',i1: '',i2: '',zh: '',uh: '',hh: ''}};" +
    "var cpo = document.createElement('script');" +
    `cpo.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=${ray.split("-")[0]}';` +
    "window._cf_chl_opt.cOgUHash = location.hash === '' && location.href.indexOf('#') !== -1 ? '#' : location.hash;" +
    "window._cf_chl_opt.cOgUQuery = location.search === '' && location.href.slice(0, location.href.length - window._cf_chl_opt.cOgUHash.length).indexOf('?') !== -1 ? '?' : location.search;" +
    "if (window.history && window.history.replaceState) {var ogU = location.pathname + window._cf_chl_opt.cOgUQuery + window._cf_chl_opt.cOgUHash;" +
    "history.replaceState(null, null, \"\\/?__cf_chl_rt_tk=" + randomHex(20) + '" + window._cf_chl_opt.cOgUHash);' +
    "cpo.onload = function() {history.replaceState(null, null, ogU);}}document.getElementsByTagName('head')[0].appendChild(cpo);}());</script>" +
    "</body></html>"
  );
}

export const NGINX_403_HTML =
  "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

function json(status: number, body: unknown, extra: Record<string, string> = {}): HttpFailure {
  return { status, headers: { "content-type": "application/json", ...extra }, body: JSON.stringify(body) };
}

export const failures = {
  unauthenticated: (message?: string) => json(401, bodies.unauthenticated(message)),
  antiBot: () => json(403, bodies.antiBot()),
  blocked: () => json(403, bodies.blocked()),
  tooManyRequests: (retryAfterSeconds?: number) =>
    json(429, bodies.tooManyRequests(), retryAfterSeconds !== undefined ? { "retry-after": String(retryAfterSeconds) } : {}),
  internal: () => json(500, bodies.internal()),
  notFound: (message: string) => json(404, bodies.notFound(message)),
  invalid: (message: string) => json(400, bodies.invalid(message)),
  moderated: () => json(403, bodies.moderated()),
  modelNotFound: () => json(403, bodies.modelNotFound()),
  cloudflare: (): HttpFailure => {
    const ray = cfRay();
    return {
      status: 403,
      headers: {
        "content-type": "text/html; charset=UTF-8",
        server: "cloudflare",
        "cf-ray": ray,
        "cf-mitigated": "challenge",
        "cache-control": "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
        expires: "Thu, 01 Jan 1970 00:00:01 GMT",
        "x-frame-options": "SAMEORIGIN",
        "referrer-policy": "same-origin",
      },
      body: cloudflareChallengeHtml(ray),
    };
  },
  emptyForbidden: (): HttpFailure => ({
    status: 403,
    headers: { server: "cloudflare", "cf-ray": cfRay(), "content-length": "0" },
    body: "",
  }),
  nginxForbidden: (): HttpFailure => ({
    status: 403,
    headers: { "content-type": "text/html", server: "nginx" },
    body: NGINX_403_HTML,
  }),
};

export function sendFailure(res: ServerResponse, f: HttpFailure): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(f.body, "utf8");
  res.writeHead(f.status, { ...f.headers, "content-length": String(body.length) });
  res.end(body);
}

/** Answers a WebSocket upgrade request with an ordinary HTTP response instead of 101. */
export function writeFailureToSocket(socket: Duplex, f: HttpFailure): void {
  const body = Buffer.from(f.body, "utf8");
  const headers = { ...f.headers, "content-length": String(body.length), connection: "close" };
  const head =
    `HTTP/1.1 ${f.status} ${STATUS_CODES[f.status] ?? "Error"}\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    "\r\n";
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]));
}
