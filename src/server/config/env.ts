import path from "node:path";
import { parseLogLevel, type LogLevel } from "../log.js";
import { modeOfUrl, parseStorageMode } from "../store/mode.js";
import type { StorageMode } from "../store/types.js";

/** Process-level configuration: environment variables and CLI flags (interface-contract.md). */
export interface RuntimeConfig {
  host: string;
  port: number;
  dataDir: string;
  /** GROK2API_API_KEY, comma-separated; when set it overrides the api_key setting. */
  apiKeys: string[] | null;
  adminUsername: string;
  /** GROK2API_ADMIN_PASSWORD; when unset a password is generated on first run. */
  adminPassword: string | null;
  upstreamUrl: string;
  assetsUrl: string;
  transport: "impit" | "fetch";
  storageMode: StorageMode;
  databaseUrl: string | null;
  logLevel: LogLevel;
  /** True when LOG_LEVEL was given (it then wins over the stored log_level setting). */
  logLevelExplicit: boolean;
}

export interface CliFlags {
  host?: string;
  port?: string;
  data?: string;
}

function originOf(value: string, name: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute http(s) URL, got "${value}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`${name} must use http or https, got "${value}"`);
  return u.origin;
}

export function splitKeys(value: string | undefined | null): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env, flags: CliFlags = {}, cwd = process.cwd()): RuntimeConfig {
  const portText = flags.port ?? env.PORT ?? "8000";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port must be an integer 0-65535, got "${portText}"`);
  const transport = (env.GROK2API_TRANSPORT ?? "impit").trim().toLowerCase();
  if (transport !== "impit" && transport !== "fetch") throw new Error(`GROK2API_TRANSPORT must be impit or fetch, got "${env.GROK2API_TRANSPORT}"`);
  const keys = splitKeys(env.GROK2API_API_KEY);
  return {
    host: flags.host ?? env.HOST ?? "127.0.0.1",
    port,
    dataDir: path.resolve(cwd, flags.data ?? env.GROK2API_DATA_DIR ?? "data"),
    apiKeys: keys.length ? keys : null,
    adminUsername: env.GROK2API_ADMIN_USERNAME?.trim() || "admin",
    adminPassword: env.GROK2API_ADMIN_PASSWORD ? env.GROK2API_ADMIN_PASSWORD : null,
    upstreamUrl: originOf(env.GROK2API_UPSTREAM_URL ?? "https://grok.com", "GROK2API_UPSTREAM_URL"),
    assetsUrl: originOf(env.GROK2API_ASSETS_URL ?? "https://assets.grok.com", "GROK2API_ASSETS_URL"),
    transport,
    storageMode: env.STORAGE_MODE?.trim() ? parseStorageMode(env.STORAGE_MODE) : (modeOfUrl(env.DATABASE_URL ?? "") ?? "file"),
    databaseUrl: env.DATABASE_URL?.trim() || null,
    logLevel: parseLogLevel(env.LOG_LEVEL),
    logLevelExplicit: !!env.LOG_LEVEL?.trim(),
  };
}
