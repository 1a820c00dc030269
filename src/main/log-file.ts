/**
 * The app's log: every server log line goes to `<logs>/grok2api.log` (and stderr), rolled over to
 * `grok2api.log.1` beyond 5 MB. "Open logs folder" in the tray opens this folder.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from "node:fs";
import path from "node:path";

export const LOG_FILE = "grok2api.log";

export function fileLineWriter(dir: string, opts: { maxBytes?: number; echo?: (line: string) => void } = {}): (line: string) => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOG_FILE);
  const max = opts.maxBytes ?? 5 * 1024 * 1024;
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    size = 0;
  }
  return (line: string) => {
    opts.echo?.(line);
    const text = line + "\n";
    try {
      if (size + text.length > max && size > 0) {
        renameSync(file, `${file}.1`);
        size = 0;
      }
      appendFileSync(file, text, { mode: 0o600 });
      size += Buffer.byteLength(text);
    } catch {
      /* a log line that cannot be written is dropped */
    }
  };
}
