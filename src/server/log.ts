/** Minimal leveled logger: one line per event, JSON fields appended. LOG_LEVEL selects the threshold. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
  level: LogLevel;
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "warning") return "warn";
  return v in ORDER ? (v as LogLevel) : fallback;
}

export function createLogger(level: LogLevel = "info", scope = "", write: (line: string) => void = (l) => process.stderr.write(l + "\n")): Logger {
  const emit = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[logger.level]) return;
    const time = new Date().toISOString();
    const extra = fields && Object.keys(fields).length ? " " + safeJson(fields) : "";
    write(redactUrl(`${time} ${lvl.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ""}${msg}${extra}`));
  };
  const logger: Logger = {
    level,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (s) => {
      const c = createLogger(logger.level, scope ? `${scope}:${s}` : s, write);
      // children follow later level changes of their parent
      Object.defineProperty(c, "level", { get: () => logger.level, set: (v: LogLevel) => (logger.level = v) });
      return c;
    },
  };
  return logger;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (x instanceof Error ? { name: x.name, message: x.message } : x));
  } catch {
    return "[unserialisable]";
  }
}

/** Shortens a secret for logs: first 6 and last 4 characters. */
export function mask(secret: string): string {
  if (secret.length <= 12) return "***";
  return `${secret.slice(0, 6)}…${secret.slice(-4)}`;
}

/**
 * Removes user and password from every URL in a text (`socks5://bob:pw@host:1080` →
 * `socks5://***@host:1080`), also from scheme-less `user:pass@host` forms a typo leaves behind.
 * Applied to every log line and every error message a client receives.
 */
export function redactUrl(text: string): string {
  if (!text.includes("@")) return text;
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/?)[^\s/?#"'<>]*@/gi, "$1***@").replace(/(^|[\s"'(=,])[^\s/:@"'<>()=,]+:[^\s/@"'<>()]+@(?=[\w[])/g, "$1***@");
}
