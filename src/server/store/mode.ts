/** Storage mode names and DATABASE_URL helpers, free of any database driver (config/env.ts loads this). */
import type { StorageMode } from "./types.js";

export const MODES: readonly StorageMode[] = ["file", "mysql", "redis"];

/** STORAGE_MODE → mode. Case-insensitive ("MYSQL" as the original documented it works); unset/empty → "file". */
export function parseStorageMode(value: string | undefined): StorageMode {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "") return "file";
  if ((MODES as readonly string[]).includes(v)) return v as StorageMode;
  throw new Error(`STORAGE_MODE must be one of file, mysql, redis (case-insensitive); got "${value}"`);
}

/** Which backend a DATABASE_URL points to, or null for an unknown scheme. */
export function modeOfUrl(url: string): StorageMode | null {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1]?.toLowerCase();
  if (scheme === "mysql" || scheme === "mariadb") return "mysql";
  if (scheme === "redis" || scheme === "rediss") return "redis";
  return null;
}

/** Hides the password of a URL for log lines and errors. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const user = auth.split(":")[0];
    return `${scheme}${user ? user + ":***" : "***"}@`;
  });
}
