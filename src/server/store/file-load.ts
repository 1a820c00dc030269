/**
 * Opening the file backend's directory: leftover temp files removed, a second process detected
 * through the lock file, settings.json / accounts.json / kv.json read. A file that does not
 * decode, parse or validate is never silently reset: it is renamed to `<name>.corrupt-<timestamp>`,
 * reported through log("error") and `problems`, and its data starts empty. When accounts.json /
 * settings.json do not exist yet, the original Grok2API's token.json / setting.toml are imported
 * (and left untouched).
 */
import { copyFile, mkdir, rename, unlink } from "node:fs/promises";
import path from "node:path";
import type { AccountRecord } from "../core/account.js";
import { pidAlive, readTextIfExists, removeStaleTempFiles, writeFileAtomic } from "./atomic-file.js";
import { FILE_NAMES, accountsDocList, accountsDocProblem, kvDocProblem, parseKvDoc, type FileCodec, type KvEntry } from "./file-format.js";
import { parseLegacySettingsToml } from "./legacy-settings.js";
import { importLegacyTokenJson } from "./legacy-token-json.js";
import { assertSettings, normalizeRecord } from "./records.js";
import type { StoredSettings } from "./types.js";
import { errText, type StoreLog } from "./usage.js";

export interface LoadedFiles {
  settings: StoredSettings;
  accounts: Map<string, AccountRecord>;
  kv: Map<string, KvEntry>;
  problems: string[];
  /** Data that came from the original's files and is not in our files yet. */
  imported: { settings: boolean; accounts: boolean };
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

/** Reads the data files of `dir` (creating it); writes only the lock file and quarantined copies. */
export async function loadDataFiles(dir: string, log: StoreLog, importLegacy: boolean, codec?: FileCodec): Promise<LoadedFiles> {
  await mkdir(dir, { recursive: true });
  const problems: string[] = [];
  const file = (name: string) => path.join(dir, name);
  const problem = (msg: string): void => {
    problems.push(msg);
    log("error", msg);
  };

  const removed = await removeStaleTempFiles(dir, [FILE_NAMES.settings, FILE_NAMES.accounts, FILE_NAMES.kv]);
  if (removed.length) log("warn", `removed ${removed.length} unfinished temp file(s) left by an interrupted write: ${removed.join(", ")}`);
  await takeLock(dir, problems, log);

  /** Moves a bad file aside (never deletes it) and records the problem. */
  const quarantine = async (name: string, reason: string): Promise<void> => {
    const backup = `${name}.corrupt-${stamp()}`;
    await rename(file(name), file(backup));
    problem(`${name} could not be read (${reason}); it was kept as ${backup} and the store started with empty ${name.replace(".json", "")}`);
  };
  /** The parsed file; null when it does not exist, undefined when it was quarantined. */
  const readJson = async (name: string, validate: (v: unknown) => string | null): Promise<unknown | null> => {
    const stored = await readTextIfExists(file(name));
    if (stored === null) return null;
    let text = stored;
    try {
      if (codec) text = codec.decode(stored);
    } catch (e) {
      await quarantine(name, `could not be decoded: ${errText(e)}`);
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      await quarantine(name, `invalid JSON: ${errText(e)}`);
      return undefined;
    }
    const bad = validate(parsed);
    if (bad) {
      await quarantine(name, bad);
      return undefined;
    }
    return parsed;
  };

  // ---- settings ----
  let settings: StoredSettings = {};
  let importedSettings = false;
  const rawSettings = await readJson(FILE_NAMES.settings, (v) => {
    try {
      assertSettings(v, FILE_NAMES.settings);
      return null;
    } catch (e) {
      return errText(e);
    }
  });
  if (rawSettings) settings = rawSettings as StoredSettings;
  else if (rawSettings === null && importLegacy) {
    const toml = await readTextIfExists(file("setting.toml"));
    if (toml !== null) {
      try {
        settings = parseLegacySettingsToml(toml);
        importedSettings = true;
        log("info", `imported settings sections [${Object.keys(settings).join(", ")}] from the original Grok2API setting.toml (the file is left untouched)`);
      } catch (e) {
        problem(`setting.toml (original Grok2API) could not be imported: ${errText(e)}; it is left untouched`);
      }
    }
  }

  // ---- accounts ----
  const accounts = new Map<string, AccountRecord>();
  let importedAccounts = false;
  const rawAccounts = await readJson(FILE_NAMES.accounts, accountsDocProblem);
  if (rawAccounts) {
    let invalid = 0;
    for (const item of accountsDocList(rawAccounts)) {
      const rec = normalizeRecord(item);
      if (rec) accounts.set(rec.token, rec);
      else invalid++;
    }
    if (invalid) {
      const backup = `${FILE_NAMES.accounts}.corrupt-${stamp()}`;
      await copyFile(file(FILE_NAMES.accounts), file(backup));
      problem(`${FILE_NAMES.accounts}: ${invalid} entr${invalid === 1 ? "y has" : "ies have"} no usable token and will be dropped at the next write; the full file was copied to ${backup}`);
    }
  } else if (rawAccounts === null && importLegacy) {
    const legacy = await readTextIfExists(file("token.json"));
    if (legacy !== null) {
      try {
        for (const rec of importLegacyTokenJson(JSON.parse(legacy))) accounts.set(rec.token, rec);
        importedAccounts = true;
        log("info", `imported ${accounts.size} account(s) from the original Grok2API token.json (the file is left untouched)`);
      } catch (e) {
        problem(`token.json (original Grok2API) could not be imported: ${errText(e)}; it is left untouched`);
      }
    }
  }

  // ---- kv ----
  const rawKv = await readJson(FILE_NAMES.kv, kvDocProblem);
  const kv = rawKv ? parseKvDoc(rawKv) : new Map<string, KvEntry>();

  return { settings, accounts, kv, problems, imported: { settings: importedSettings, accounts: importedAccounts } };
}

/** Writes our lock file; another live process holding it is reported in `problems` (not fatal). */
async function takeLock(dir: string, problems: string[], log: StoreLog): Promise<void> {
  const lockFile = path.join(dir, FILE_NAMES.lock);
  const lockText = await readTextIfExists(lockFile);
  if (lockText) {
    let other = 0;
    try {
      other = Number((JSON.parse(lockText) as { pid?: unknown }).pid);
    } catch {
      /* unreadable lock: overwrite */
    }
    if (other && other !== process.pid && pidAlive(other)) {
      const msg = `data directory ${dir} is also used by process ${other}; file storage is single-process (use STORAGE_MODE=mysql or redis to share accounts between processes)`;
      problems.push(msg);
      log("warn", msg);
    }
  }
  await writeFileAtomic(lockFile, JSON.stringify({ pid: process.pid, startedAt: Date.now() }) + "\n");
}

/** Removes the lock file if it is still ours. */
export async function dropLock(dir: string): Promise<void> {
  const lockFile = path.join(dir, FILE_NAMES.lock);
  const lock = await readTextIfExists(lockFile).catch(() => null);
  if (lock && lock.includes(`"pid":${process.pid},`)) await unlink(lockFile).catch(() => undefined);
}
