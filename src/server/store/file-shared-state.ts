/**
 * The file backend's state, one per data directory in this process: FileStore instances opened
 * on the same directory share it (so they see each other's writes and updateAccount stays atomic
 * between them). Opened on the first acquire, written out and its lock file removed when the
 * last instance releases it.
 */
import path from "node:path";
import type { AccountRecord } from "../core/account.js";
import { FileWriter } from "./atomic-file.js";
import { FILE_NAMES, serializeAccounts, serializeKv, type FileCodec, type KvEntry } from "./file-format.js";
import { dropLock, loadDataFiles } from "./file-load.js";
import type { StoreChange, StoredSettings } from "./types.js";
import type { StoreLog } from "./usage.js";

export interface Listener {
  owner: object;
  fn: (change: StoreChange) => void;
}

export interface SharedFileState {
  dir: string;
  refs: number;
  settings: StoredSettings;
  accounts: Map<string, AccountRecord>;
  kv: Map<string, KvEntry>;
  slots: Map<string, Map<string, number>>;
  writers: { settings: FileWriter; accounts: FileWriter; kv: FileWriter };
  listeners: Set<Listener>;
  problems: string[];
}

const registry = new Map<string, Promise<SharedFileState>>();

async function loadShared(dir: string, log: StoreLog, importLegacy: boolean, codec?: FileCodec): Promise<SharedFileState> {
  const { settings, accounts, kv, problems, imported } = await loadDataFiles(dir, log, importLegacy, codec);
  const file = (name: string) => path.join(dir, name);
  const encode = (text: string) => (codec ? codec.encode(text) : text);
  const st: SharedFileState = {
    dir,
    refs: 0,
    settings,
    accounts,
    kv,
    slots: new Map(),
    listeners: new Set(),
    problems,
    writers: {
      settings: new FileWriter(file(FILE_NAMES.settings), () => encode(JSON.stringify(st.settings, null, 2) + "\n")),
      accounts: new FileWriter(file(FILE_NAMES.accounts), () => encode(serializeAccounts(st.accounts))),
      kv: new FileWriter(file(FILE_NAMES.kv), () => encode(serializeKv(st.kv))),
    },
  };
  if (imported.settings) await st.writers.settings.save();
  if (imported.accounts) await st.writers.accounts.save();
  return st;
}

export async function acquireShared(dir: string, log: StoreLog, importLegacy: boolean, codec?: FileCodec): Promise<SharedFileState> {
  let p = registry.get(dir);
  if (!p) {
    p = loadShared(dir, log, importLegacy, codec);
    registry.set(dir, p);
    p.catch(() => registry.delete(dir));
  }
  const st = await p;
  st.refs++;
  return st;
}

export async function releaseShared(st: SharedFileState): Promise<void> {
  st.refs--;
  if (st.refs > 0) return;
  await Promise.all([st.writers.settings.whenIdle(), st.writers.accounts.whenIdle(), st.writers.kv.whenIdle()]);
  if (st.refs > 0) return; // re-opened meanwhile
  registry.delete(st.dir);
  await dropLock(st.dir);
}
