/**
 * Crash-safe JSON files: write to a temp file in the same directory, fsync it, rename it over
 * the target, fsync the directory. A reader (or a process restarted after SIGKILL / power loss)
 * sees either the old or the new complete file, never a torn one.
 */
import { open, readdir, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";

let tmpCounter = 0;
const TMP_MARK = ".tmp-";

export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (e) {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EBADF") throw e;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${file}${TMP_MARK}${process.pid}-${++tmpCounter}`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data, "utf8");
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(path.dirname(file));
}

/** Reads a file; null when it does not exist. */
export async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temp files left by a crashed writer (`<name>.tmp-<pid>-<n>` whose pid is gone).
 * Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string, names: string[]): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    for (const name of names) {
      if (!entry.startsWith(name + TMP_MARK)) continue;
      const pid = Number(entry.slice(name.length + TMP_MARK.length).split("-")[0]);
      if (pid === process.pid || pidAlive(pid)) continue;
      await unlink(path.join(dir, entry)).catch(() => undefined);
      removed.push(entry);
    }
  }
  return removed;
}

/**
 * Group commit for one file: save() resolves after a write that started after the call, so it
 * includes every change made before save() was called. Calls made while a write is running
 * share the next write (one rename for a burst of changes).
 */
export class FileWriter {
  private writing = false;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private idle: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | null = null;

  constructor(
    readonly file: string,
    private readonly serialize: () => string,
  ) {}

  save(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.writing) void this.run();
    });
  }

  /** Resolves when no write is running or queued. */
  whenIdle(): Promise<void> {
    return this.idle;
  }

  private async run(): Promise<void> {
    this.writing = true;
    this.idle = new Promise((r) => (this.idleResolve = r));
    while (this.waiters.length) {
      const batch = this.waiters;
      this.waiters = [];
      try {
        await writeFileAtomic(this.file, this.serialize());
        for (const w of batch) w.resolve();
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.writing = false;
    this.idleResolve?.();
  }
}
