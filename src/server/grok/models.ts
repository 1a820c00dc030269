import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Tier } from "../core/account.js";

/**
 * The model catalogue, as data (grok-protocol.md §5). Every public id maps onto a grok.com mode:
 * the gateway's `session.model`, the REST body's `modeId`, and the quota bucket it spends.
 * The original identifiers of the legacy REST era are kept for reference and for rate-limit
 * look-ups of legacy accounts. Users can override or extend it with `<data>/models.json`.
 */
export const GATEWAY_MODES = ["fast", "auto", "expert", "heavy"] as const;
export type GatewayMode = (typeof GATEWAY_MODES)[number];

const entrySchema = z.object({
  id: z.string().min(1),
  displayName: z.string().min(1),
  /** Unix seconds, for /v1/models. */
  created: z.number().int().nonnegative(),
  /** What the model makes: chat answers, images (Imagine), or videos (media/video-*.ts). */
  kind: z.enum(["chat", "image", "video"]).default("chat"),
  /**
   * Image models (§5.4): how the image is made. `imagine`: the Imagine WebSocket (`pro` = "Image
   * 2.0", `enable_pro`); `chat`: the chat image tool on the fast mode (`Drawing: …`, one image per
   * turn); `edit`: upload + `imagine-image-edit` (§7.4).
   */
  image: z
    .object({ flow: z.enum(["imagine", "chat", "edit"]), pro: z.boolean().default(false) })
    .nullable()
    .default(null),
  /** Gateway `session.model`; null when the model is REST-only. */
  gatewayMode: z.enum(GATEWAY_MODES).nullable(),
  /** REST `modeId`. */
  restModeId: z.string().min(1),
  /** Legacy REST identifiers (original Grok2API era), informational. */
  legacy: z.object({ modelName: z.string(), modelMode: z.string() }).nullable().default(null),
  /** Quota bucket (mode id) and cost in queries. */
  bucket: z.string().min(1),
  cost: z.number().nonnegative().default(1),
  minTier: z.enum(["basic", "super", "heavy"]),
  /** Present for ids kept for the original's users; names the current equivalent. */
  aliasOf: z.string().nullable().default(null),
  /** Shown in /v1/models. */
  listed: z.boolean().default(true),
});

export type ModelEntry = z.infer<typeof entrySchema>;

const T2025 = 1_735_689_600; // 2025-01-01
const T2026 = 1_775_001_600; // 2026-04-01
const T2026_08 = 1_785_542_400; // 2026-08-01

type Raw = z.input<typeof entrySchema>;
const chat = (id: string, displayName: string, mode: GatewayMode, minTier: Tier, created: number, extra: Partial<Raw> = {}): Raw => ({
  id,
  displayName,
  created,
  gatewayMode: mode,
  restModeId: mode,
  bucket: mode,
  cost: 1,
  minTier,
  ...extra,
});

/** A video model (§5.5, §8): REST `modelName:"imagine-video-gen"`, the 720p video bucket (480p spends `video`, paid tiers). */
const video = (id: string, displayName: string, created: number, extra: Partial<Raw> = {}): Raw => ({
  id,
  displayName,
  created,
  kind: "video",
  gatewayMode: null,
  restModeId: "imagine-video-gen",
  bucket: "video_720p",
  cost: 1,
  minTier: "basic",
  ...extra,
});

/** An image model: `bucket` is the quota it spends, one query per image (§5.4, §10.2). */
const image = (id: string, displayName: string, flow: "imagine" | "chat" | "edit", bucket: string, created: number, extra: Partial<Raw> = {}): Raw => ({
  id,
  displayName,
  created,
  kind: "image",
  gatewayMode: flow === "chat" ? "fast" : null,
  restModeId: flow === "chat" ? "fast" : flow === "edit" ? "imagine-image-edit" : "imagine",
  bucket,
  cost: 1,
  minTier: "basic",
  image: { flow, pro: false },
  ...extra,
});

export const BUILTIN_MODELS: Raw[] = [
  // Current gateway-era ids (§5.4).
  chat("grok-chat-fast", "Grok (Fast)", "fast", "basic", T2026_08),
  chat("grok-chat-auto", "Grok (Auto)", "auto", "super", T2026_08),
  chat("grok-chat-expert", "Grok (Expert)", "expert", "super", T2026_08),
  chat("grok-chat-heavy", "Grok (Heavy)", "heavy", "heavy", T2026_08),
  chat("grok-4.5", "Grok 4.5", "fast", "basic", T2026_08, { aliasOf: "grok-chat-fast" }),
  chat("grok-4.5-expert", "Grok 4.5 Expert", "expert", "super", T2026_08, { aliasOf: "grok-chat-expert" }),
  chat("grok-4.5-heavy", "Grok 4.5 Heavy", "heavy", "heavy", T2026_08, { aliasOf: "grok-chat-heavy" }),
  // [2026-04] modeId-era ids (§5.3).
  chat("grok-4.20-fast", "Grok 4.20 Fast", "fast", "basic", T2026),
  chat("grok-4.20-auto", "Grok 4.20 Auto", "auto", "super", T2026),
  chat("grok-4.20-expert", "Grok 4.20 Expert", "expert", "super", T2026),
  chat("grok-4.20-heavy", "Grok 4.20 Heavy", "heavy", "heavy", T2026),
  chat("grok-4.20-0309-non-reasoning", "Grok 4.20 (non-reasoning)", "fast", "basic", T2026),
  chat("grok-4.20-0309", "Grok 4.20", "auto", "super", T2026),
  chat("grok-4.20-0309-reasoning", "Grok 4.20 (reasoning)", "expert", "super", T2026),
  chat("grok-4.20-multi-agent-0309", "Grok 4.20 Multi-agent", "heavy", "heavy", T2026),
  chat("grok-4.3-beta", "Grok 4.3 beta (REST only)", "fast", "super", T2026, {
    gatewayMode: null,
    restModeId: "grok-420-computer-use-sa",
    bucket: "grok-420-computer-use-sa",
  }),
  // The original Grok2API's ids (§5.1, current equivalents from §5.5).
  chat("grok-3-fast", "Grok 3 Fast", "fast", "basic", T2025, { legacy: { modelName: "grok-3", modelMode: "MODEL_MODE_FAST" }, aliasOf: "grok-chat-fast" }),
  chat("grok-4-fast", "Grok 4 Fast", "fast", "basic", T2025, {
    legacy: { modelName: "grok-4-mini-thinking-tahoe", modelMode: "MODEL_MODE_GROK_4_MINI_THINKING" },
    aliasOf: "grok-chat-fast",
  }),
  chat("grok-4-fast-expert", "Grok 4 Fast Expert", "expert", "super", T2025, {
    legacy: { modelName: "grok-4-mini-thinking-tahoe", modelMode: "MODEL_MODE_EXPERT" },
    aliasOf: "grok-chat-expert",
  }),
  chat("grok-4-expert", "Grok 4 Expert", "expert", "super", T2025, { legacy: { modelName: "grok-4", modelMode: "MODEL_MODE_EXPERT" }, aliasOf: "grok-chat-expert" }),
  chat("grok-4-heavy", "Grok 4 Heavy", "heavy", "heavy", T2025, { legacy: { modelName: "grok-4-heavy", modelMode: "MODEL_MODE_HEAVY" }, aliasOf: "grok-chat-heavy" }),
  chat("grok-4.1", "Grok 4.1", "fast", "basic", T2025, {
    legacy: { modelName: "grok-4-1-non-thinking-w-tool", modelMode: "MODEL_MODE_GROK_4_1" },
    aliasOf: "grok-chat-fast",
  }),
  chat("grok-4.1-thinking", "Grok 4.1 Thinking", "expert", "super", T2025, {
    legacy: { modelName: "grok-4-1-thinking-1108b", modelMode: "MODEL_MODE_AUTO" },
    aliasOf: "grok-chat-expert",
  }),
  // Video (§5.5): the current id, the [2026-04] id, and the original's grok-imagine-0.9 (prompt ± images → video).
  video("grok-imagine-video", "Grok Imagine Video", T2026_08),
  video("grok-imagine-1.0-video", "Grok Imagine 1.0 Video", T2026, { aliasOf: "grok-imagine-video" }),
  video("grok-imagine-0.9", "Grok Imagine 0.9 (video)", T2025, { aliasOf: "grok-imagine-video" }),
  // Images ([2026-08] §5.4; the [2026-04]/[2026-02] ids as aliases, §5.5).
  image("grok-imagine-image", "Grok Imagine Image", "imagine", "image_pro", T2026_08),
  image("grok-imagine-image-2.0", "Grok Imagine Image 2.0", "imagine", "image_pro", T2026_08, { image: { flow: "imagine", pro: true } }),
  image("grok-imagine-image-lite", "Grok Imagine Image Lite (chat image tool)", "chat", "fast", T2026_08),
  image("grok-imagine-image-edit", "Grok Imagine Image Edit", "edit", "image_edit", T2026_08),
  image("grok-imagine-image-pro", "Grok Imagine Image Pro", "imagine", "image_pro", T2026, { image: { flow: "imagine", pro: true }, aliasOf: "grok-imagine-image-2.0" }),
  image("grok-imagine-1.0", "Grok Imagine 1.0", "imagine", "image_pro", T2026, { aliasOf: "grok-imagine-image" }),
  image("grok-imagine-1.0-edit", "Grok Imagine 1.0 Edit", "edit", "image_edit", T2026, { aliasOf: "grok-imagine-image-edit" }),
];

export class ModelCatalog {
  private readonly byId = new Map<string, ModelEntry>();

  constructor(entries: Raw[]) {
    for (const e of entries) {
      const parsed = entrySchema.parse(e);
      this.byId.set(parsed.id, parsed);
    }
  }

  get(id: string): ModelEntry | undefined {
    return this.byId.get(id);
  }

  list(): ModelEntry[] {
    return [...this.byId.values()].filter((m) => m.listed);
  }

  /** The built-in catalogue overlaid with `<dataDir>/models.json` (an array of entries, merged by id). */
  static load(dataDir: string | null): { catalog: ModelCatalog; overrideFile: string | null } {
    const entries = new Map<string, Raw>(BUILTIN_MODELS.map((m) => [m.id, m]));
    const file = dataDir ? path.join(dataDir, "models.json") : null;
    if (file && existsSync(file)) {
      let list: unknown;
      try {
        list = JSON.parse(readFileSync(file, "utf8"));
      } catch (err) {
        throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(list)) throw new Error(`${file} must hold a JSON array of model entries`);
      list.forEach((item, i) => {
        if (!item || typeof item !== "object" || typeof (item as { id?: unknown }).id !== "string")
          throw new Error(`${file}[${i}] needs a string "id"`);
        const id = (item as { id: string }).id;
        const merged = { ...(entries.get(id) ?? {}), ...(item as object) } as Raw;
        const check = entrySchema.safeParse(merged);
        if (!check.success) throw new Error(`${file}[${i}] (${id}): ${check.error.issues[0]?.path.join(".")} ${check.error.issues[0]?.message}`);
        entries.set(id, merged);
      });
      return { catalog: new ModelCatalog([...entries.values()]), overrideFile: file };
    }
    return { catalog: new ModelCatalog([...entries.values()]), overrideFile: null };
  }
}
