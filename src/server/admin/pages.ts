import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import Router from "@koa/router";
import type { Context } from "koa";

/**
 * The manager (src/renderer, a React build) at `/login` and `/manage`, with its hashed files at
 * `/static/manager/assets/*`. The build is made by `npm run build:renderer` (run by `npm ci`
 * through `prepare`) into out/renderer; this router only reads it, once, when it is built.
 *
 * - HTML: `no-store`, a strict CSP (no inline script or style, nothing remote), no framing.
 * - Assets: names carry a content hash, so they are cached for a year (`immutable`).
 * - A missing build answers 503 with the command that makes it, instead of a blank page.
 */
export const ADMIN_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const ASSET_PREFIX = "/static/manager/assets/";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
};

/** Where the build is: GROK2API_RENDERER_DIR, else out/renderer next to the sources or to the bundled main process. */
export function rendererDir(): string {
  if (process.env.GROK2API_RENDERER_DIR) return process.env.GROK2API_RENDERER_DIR;
  const here = import.meta.dirname ?? process.cwd();
  const candidates = [path.resolve(here, "../../../out/renderer"), path.resolve(here, "../renderer"), path.resolve(process.cwd(), "out/renderer")];
  return candidates.find((d) => existsSync(path.join(d, "index.html"))) ?? candidates[0]!;
}

interface Build {
  html: string | null;
  assets: Map<string, { body: Buffer; type: string }>;
  problem: string | null;
}

function loadBuild(dir: string): Build {
  const assets = new Map<string, { body: Buffer; type: string }>();
  let html: string | null = null;
  let problem: string | null = null;
  try {
    html = readFileSync(path.join(dir, "index.html"), "utf8");
    const adir = path.join(dir, "assets");
    for (const f of existsSync(adir) ? readdirSync(adir) : []) {
      const type = TYPES[path.extname(f)];
      if (type) assets.set(f, { body: readFileSync(path.join(adir, f)), type });
    }
  } catch (err) {
    problem = `The manager is not built (${path.join(dir, "index.html")}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Run "npm run build:renderer" (npm ci runs it).`;
  }
  return { html, assets, problem };
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function pagesRouter(opts: { dir?: string } = {}): Router {
  const build = loadBuild(opts.dir ?? rendererDir());

  const page = (ctx: Context) => {
    ctx.set("Cache-Control", "no-store");
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.set("Referrer-Policy", "no-referrer");
    ctx.set("Content-Security-Policy", ADMIN_CSP);
    ctx.set("X-Frame-Options", "DENY");
    ctx.type = "text/html; charset=utf-8";
    if (build.html === null) {
      ctx.status = 503;
      ctx.body = `<!doctype html><meta charset="utf-8"><title>Grok2API</title><p>${escapeHtml(build.problem ?? "")}</p>`;
      return;
    }
    ctx.body = build.html;
  };

  const r = new Router();
  r.get("/login", page);
  r.get("/manage", page);
  r.get(`${ASSET_PREFIX}:file`, (ctx) => {
    const a = build.assets.get(ctx.params.file ?? "");
    if (!a) return; // 404 from the error middleware
    ctx.set("Cache-Control", "public, max-age=31536000, immutable");
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.type = a.type;
    ctx.body = a.body;
  });
  r.get("/", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.redirect("/manage");
  });
  return r;
}
