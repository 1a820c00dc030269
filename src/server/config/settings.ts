import { EventEmitter } from "node:events";
import { z } from "zod";
import { ProxyError } from "../errors.js";
import type { Store, StoredSettings } from "../store/types.js";
import { SETTINGS_VERSION, settingsSchema, type Settings } from "./settings-schema.js";

/** A named, tested migration from an older stored shape (original Grok2API or earlier versions). */
export interface SettingsMigration {
  name: string;
  apply(raw: StoredSettings): void;
}

const section = (raw: StoredSettings, name: string): Record<string, unknown> => (raw[name] ??= {});

export const MIGRATIONS: SettingsMigration[] = [
  {
    // The original had only `dynamic_statsig` (true = generated values, false = the static x_statsig_id).
    name: "statsig-mode-from-dynamic-statsig",
    apply(raw) {
      const g = section(raw, "grok");
      if (g.statsig_mode !== undefined) return;
      if (g.dynamic_statsig === false || g.dynamic_statsig === "false") g.statsig_mode = g.x_statsig_id ? "static" : "dynamic";
    },
  },
  {
    // The original stored the admin password in plain text; we keep only a hash (see admin/auth.ts).
    name: "drop-plaintext-admin-password",
    apply(raw) {
      delete section(raw, "global").admin_password;
    },
  },
];

export function migrateSettings(raw: StoredSettings): { settings: StoredSettings; applied: string[] } {
  const copy: StoredSettings = structuredClone(raw ?? {});
  const meta = section(copy, "_meta");
  const done = new Set(Array.isArray(meta.migrations) ? (meta.migrations as string[]) : []);
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.name)) continue;
    m.apply(copy);
    done.add(m.name);
    applied.push(m.name);
  }
  meta.migrations = [...done];
  meta.version = SETTINGS_VERSION;
  return { settings: copy, applied };
}

/** Turns a zod error into a 400 naming the field, e.g. `grok.stream_chunk_timeout`. */
export function settingsError(err: z.ZodError): ProxyError {
  const issue = err.issues[0];
  const field = issue ? issue.path.join(".") : "settings";
  return new ProxyError(400, "invalid_value", `Invalid setting ${field}: ${issue?.message ?? "invalid"}`, { param: field });
}

export function parseSettings(raw: StoredSettings): Settings {
  const { _meta, ...rest } = raw;
  void _meta;
  const result = settingsSchema.safeParse(rest);
  if (!result.success) throw settingsError(result.error);
  return result.data;
}

/**
 * Stored settings that no longer validate (written by an older version, or by hand) must not
 * stop the server: each invalid `section.key` falls back to its default and is reported, while
 * the stored value itself is kept until someone saves that field. Keys in `strict` (the ones an
 * update is changing) must validate: their error is the caller's 400.
 */
export function parseSettingsTolerant(raw: StoredSettings, strict: ReadonlySet<string> = new Set()): { settings: Settings; invalid: string[] } {
  const { _meta, ...rest } = raw;
  void _meta;
  const work = structuredClone(rest) as Record<string, Record<string, unknown>>;
  const invalid: string[] = [];
  for (let round = 0; round < 100; round++) {
    const result = settingsSchema.safeParse(work);
    if (result.success) return { settings: result.data, invalid };
    const issue = result.error.issues[0]!;
    const [sec, key] = issue.path.map(String);
    const field = `${sec}.${key}`;
    if (!sec || !key || strict.has(field) || !work[sec] || !(key in work[sec]!)) throw settingsError(result.error);
    delete work[sec]![key];
    invalid.push(`${field}: ${issue.message}`);
  }
  throw new ProxyError(500, "internal_error", "settings could not be parsed", { expose: false });
}

/** Loads, validates, migrates and saves settings; emits "change" after a stored update. */
export class SettingsService extends EventEmitter {
  private current: Settings = settingsSchema.parse({});
  private raw: StoredSettings = {};
  /** Stored values that did not validate and are replaced by their defaults (`section.key: reason`). */
  invalid: string[] = [];

  constructor(private readonly store: Store) {
    super();
  }

  get value(): Settings {
    return this.current;
  }

  async load(): Promise<string[]> {
    const stored = await this.store.getSettings();
    const { settings, applied } = migrateSettings(stored);
    ({ settings: this.current, invalid: this.invalid } = parseSettingsTolerant(settings));
    this.raw = settings;
    if (applied.length || Object.keys(stored).length === 0) await this.store.saveSettings(serialise(this.raw, this.current, this.invalid));
    return applied;
  }

  /** Re-reads settings written by another process. */
  reload(): Promise<void> {
    return this.serial(async () => {
      const stored = await this.store.getSettings();
      const { settings } = migrateSettings(stored);
      ({ settings: this.current, invalid: this.invalid } = parseSettingsTolerant(settings));
      this.raw = settings;
      this.emit("change", this.current);
    });
  }

  /**
   * Applies a partial update per section (`{global: {...}, grok: {...}}`) to the settings as
   * currently STORED (atomic read-modify-write, so concurrent writers in other processes lose
   * nothing), validates the result, and makes it current once it is stored.
   */
  update(patch: Partial<Record<"global" | "grok", Record<string, unknown>>>): Promise<Settings> {
    for (const name of ["global", "grok"] as const) {
      const p = patch[name];
      if (p !== undefined && p !== null && (typeof p !== "object" || Array.isArray(p)))
        throw new ProxyError(400, "invalid_value", `${name}_config must be an object`, { param: `${name}_config` });
    }
    return this.serial(async () => {
      let parsed!: Settings;
      let invalid: string[] = [];
      const strict = new Set<string>();
      for (const name of ["global", "grok"] as const) for (const k of Object.keys(patch[name] ?? {})) strict.add(`${name}.${k}`);
      const stored = await this.store.updateSettings((current) => {
        const next = migrateSettings(current).settings;
        for (const name of ["global", "grok"] as const) {
          const p = patch[name];
          if (p) next[name] = { ...(next[name] ?? {}), ...p };
        }
        // The original page toggles dynamic_statsig only; keep statsig_mode in step unless both were sent.
        const g = patch.grok;
        if (g && "dynamic_statsig" in g && !("statsig_mode" in g)) {
          const dyn = g.dynamic_statsig === true || g.dynamic_statsig === "true";
          next.grok!.statsig_mode = dyn ? "dynamic" : next.grok!.x_statsig_id ? "static" : "dynamic";
        }
        ({ settings: parsed, invalid } = parseSettingsTolerant(next, strict));
        return serialise(next, parsed, invalid);
      });
      this.raw = stored;
      this.current = parsed;
      this.invalid = invalid;
      this.emit("change", this.current);
      return parsed;
    });
  }

  /** Reloads and updates run one at a time, so a slow reload never overwrites a newer update. */
  private queue: Promise<unknown> = Promise.resolve();
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** Stored form: the raw sections (unknown keys kept) overlaid with the validated values; invalid stored values are kept as stored. */
function serialise(raw: StoredSettings, settings: Settings, invalid: string[] = []): StoredSettings {
  const out: StoredSettings = { ...raw, global: { ...raw.global, ...settings.global }, grok: { ...raw.grok, ...settings.grok } };
  for (const entry of invalid) {
    const [sec, key] = entry.slice(0, entry.indexOf(":")).split(".") as ["global" | "grok", string];
    if (raw[sec] && key in raw[sec]!) out[sec]![key] = raw[sec]![key];
  }
  return out;
}
