import { useEffect, useState } from "react";

/** The manager's pages, addressed by the hash of /manage (`/manage#/accounts`): one HTML route for the server. */
export const PAGES = ["overview", "accounts", "settings", "media", "clients", "logs"] as const;
export type PageId = (typeof PAGES)[number];

export function pageFromHash(hash: string): PageId {
  const p = hash.replace(/^#\/?/, "").split(/[/?]/)[0] ?? "";
  return (PAGES as readonly string[]).includes(p) ? (p as PageId) : "overview";
}

export function useHashPage(): PageId {
  const [page, setPage] = useState<PageId>(() => pageFromHash(location.hash));
  useEffect(() => {
    const on = () => setPage(pageFromHash(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return page;
}

/** Where to come back to after signing in: only paths of this manager (no open redirect). */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/manage") || next.startsWith("//")) return "/manage";
  return next;
}

export function loginUrl(expired: boolean): string {
  const next = `${location.pathname}${location.hash}`;
  return `/login?next=${encodeURIComponent(next)}${expired ? "&expired=1" : ""}`;
}
