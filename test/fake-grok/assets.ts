/** Assets origin (§7.5): private users/<uid>/… bytes behind the owner's sso cookie; public imagine-public images. */
import type { HttpCtx } from "./core.js";
import { failures, sendFailure } from "./errors.js";
import { sendRanged } from "./media-routes.js";
import { checkCloudflare, checkStrictUserAgent } from "./validate.js";
import { debug } from "./util.js";

function deny(ctx: HttpCtx, kind: "empty" | "html", reason: string): void {
  const f = kind === "empty" ? failures.emptyForbidden() : failures.nginxForbidden();
  ctx.rec.rejected = { status: 403, reason };
  debug(`assets reject ${ctx.url.pathname}: ${reason}`);
  sendFailure(ctx.res, f);
}

export function handleAsset(ctx: HttpCtx): void {
  const { core } = ctx;
  if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") {
    ctx.rec.rejected = { status: 405, reason: "assets only serve GET/HEAD" };
    ctx.res.writeHead(405, { allow: "GET, HEAD" });
    return void ctx.res.end();
  }
  const cf = checkCloudflare(core, ctx);
  if (cf) {
    ctx.rec.rejected = { status: cf.failure.status, reason: cf.reason };
    return sendFailure(ctx.res, cf.failure);
  }
  const path = decodeURIComponent(ctx.url.pathname).replace(/^\/+/, "");
  const asset = core.state.assets.get(path);
  if (path.startsWith("imagine-public/")) {
    if (!asset) return notFound(ctx, path);
    return sendRanged(ctx, asset.bytes, asset.contentType);
  }
  const m = /^users\/([0-9a-f-]{36})\//.exec(path);
  if (!m) return deny(ctx, "html", `not an asset path: ${path}`);
  const sso = ctx.cookies["sso"];
  const acc = sso ? core.state.accounts.get(sso) : undefined;
  if (!acc) return deny(ctx, "empty", sso ? "unknown sso cookie" : "sso cookie missing");
  ctx.rec.account = acc.sso;
  if (acc.session === "blocked" || acc.session === "unauthenticated" || acc.session === "http401") return deny(ctx, "empty", `account session is ${acc.session}`);
  if (m[1] !== acc.userId) return deny(ctx, "html", "path belongs to another account");
  const ua = checkStrictUserAgent(core, ctx, acc);
  if (ua) return deny(ctx, "html", ua.reason);
  if (!asset) return notFound(ctx, path);
  sendRanged(ctx, asset.bytes, asset.contentType);
}

function notFound(ctx: HttpCtx, path: string): void {
  ctx.rec.rejected = { status: 404, reason: `no asset ${path}` };
  const body = Buffer.from("<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
  ctx.res.writeHead(404, { "content-type": "application/xml; charset=UTF-8", "content-length": String(body.length) });
  ctx.res.end(body);
}
