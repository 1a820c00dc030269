import { readFileSync } from "node:fs";
import path from "node:path";
import Router from "@koa/router";
import type { Context } from "koa";
import type { z } from "zod";
import { globalSchema, grokSchema } from "../config/settings-schema.js";

/**
 * The admin pages (`/login`, `/manage`) and their static files: plain HTML, one stylesheet and one
 * script, no build step and nothing fetched from the network. Files are read once when the router
 * is built. Every response is `no-store`; the HTML carries a strict CSP (no inline script or style).
 */
export const ADMIN_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Asset {
  body: string;
  type: string;
}

export interface SettingsField {
  name: string;
  kind: "boolean" | "number" | "enum" | "string" | "number[]" | "json";
  options?: string[];
  min?: number;
  max?: number;
  int?: boolean;
}

type AnySchema = z.ZodType & { def: { type: string; innerType?: AnySchema; out?: AnySchema; element?: AnySchema }; options?: string[]; minValue?: number | null; maxValue?: number | null; isInt?: boolean };

/** The form description of one settings section, read off its zod schema (so selects and limits never drift from validation). */
export function describeSection(schema: { shape: Record<string, unknown> }): SettingsField[] {
  return Object.entries(schema.shape).map(([name, raw]) => {
    let s = raw as AnySchema;
    for (;;) {
      if (s.def.type === "default" && s.def.innerType) s = s.def.innerType;
      else if (s.def.type === "pipe" && s.def.out) s = s.def.out;
      else break;
    }
    switch (s.def.type) {
      case "boolean":
        return { name, kind: "boolean" };
      case "enum":
        return { name, kind: "enum", options: [...(s.options ?? [])] };
      case "number":
        return { name, kind: "number", ...(Number.isFinite(s.minValue) ? { min: s.minValue as number } : {}), ...(Number.isFinite(s.maxValue) ? { max: s.maxValue as number } : {}), int: !!s.isInt };
      case "array":
        return { name, kind: "number[]" };
      case "record":
      case "object":
        return { name, kind: "json" };
      default:
        return { name, kind: "string" };
    }
  });
}

function pagesDir(): string {
  // import.meta.dirname is undefined when bundled to CJS (Electron main); GROK2API_PAGES_DIR can point elsewhere.
  return process.env.GROK2API_PAGES_DIR || path.join(import.meta.dirname ?? process.cwd(), "pages");
}

function load(dir: string, file: string, type: string): Asset {
  try {
    return { body: readFileSync(path.join(dir, file), "utf8"), type };
  } catch (err) {
    const msg = `Admin page file missing: ${path.join(dir, file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    return { body: type.startsWith("text/html") ? `<!doctype html><meta charset="utf-8"><title>Grok2API</title><p>${msg.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p>` : `/* ${msg.replace(/\*\//g, "")} */`, type };
  }
}

export function pagesRouter(): Router {
  const dir = pagesDir();
  const html = "text/html; charset=utf-8";
  const assets: Record<string, Asset> = {
    "/login": load(dir, "login.html", html),
    "/manage": load(dir, "manage.html", html),
    "/static/admin/admin.css": load(dir, "admin.css", "text/css; charset=utf-8"),
    "/static/admin/admin.js": load(dir, "admin.js", "text/javascript; charset=utf-8"),
    "/static/admin/settings-fields.json": {
      body: JSON.stringify({ grok: describeSection(grokSchema), global: describeSection(globalSchema) }),
      type: "application/json; charset=utf-8",
    },
  };

  const send = (ctx: Context, a: Asset) => {
    ctx.set("Cache-Control", "no-store");
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.set("Referrer-Policy", "no-referrer");
    if (a.type.startsWith("text/html")) {
      ctx.set("Content-Security-Policy", ADMIN_CSP);
      ctx.set("X-Frame-Options", "DENY");
    }
    ctx.type = a.type;
    ctx.body = a.body;
  };

  const r = new Router();
  for (const [p, a] of Object.entries(assets)) r.get(p, (ctx) => send(ctx, a));
  r.get("/", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.redirect("/manage");
  });
  return r;
}
