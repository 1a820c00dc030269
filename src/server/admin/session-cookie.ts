import type { Context } from "koa";
import { SESSION_TTL_MS } from "./auth.js";

/**
 * The manager's session cookie: set by POST /api/login next to the token in the body, so the
 * session survives a reload and reaches a second tab, while script never sees it (HttpOnly).
 * SameSite=Strict and Path=/api keep it off every other site's requests and off the client API;
 * the origin guard (api/guards.ts) still refuses cross-site requests to /api. `Authorization:
 * Bearer <token>` keeps working for scripts and the original's clients.
 */
export const SESSION_COOKIE = "g2a_session";

/** The session token of a request: the Bearer header first, else the cookie. */
export function sessionToken(ctx: Context): string | null {
  const a = ctx.get("authorization");
  if (/^bearer\s+/i.test(a)) return a.replace(/^bearer\s+/i, "").trim() || null;
  return ctx.cookies.get(SESSION_COOKIE) || null;
}

export function setSessionCookie(ctx: Context, token: string): void {
  ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: "strict", path: "/api", maxAge: SESSION_TTL_MS, secure: ctx.secure, overwrite: true });
}

export function clearSessionCookie(ctx: Context): void {
  ctx.cookies.set(SESSION_COOKIE, "", { httpOnly: true, sameSite: "strict", path: "/api", maxAge: 0, expires: new Date(0), secure: ctx.secure, overwrite: true });
}
