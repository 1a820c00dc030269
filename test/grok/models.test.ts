import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ModelCatalog } from "../../src/server/grok/models.js";

let dir: string | null = null;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});
const withFile = (content: string) => {
  dir = mkdtempSync(path.join(tmpdir(), "g2a-models-"));
  writeFileSync(path.join(dir, "models.json"), content);
  return dir;
};

describe("model catalogue", () => {
  it("maps the original's ids onto current modes with tiers and buckets", () => {
    const { catalog } = ModelCatalog.load(null);
    expect(catalog.get("grok-4-heavy")).toMatchObject({ gatewayMode: "heavy", restModeId: "heavy", bucket: "heavy", minTier: "heavy", aliasOf: "grok-chat-heavy", legacy: { modelName: "grok-4-heavy", modelMode: "MODEL_MODE_HEAVY" } });
    expect(catalog.get("grok-3-fast")).toMatchObject({ gatewayMode: "fast", minTier: "basic" });
    expect(catalog.get("grok-4.3-beta")).toMatchObject({ gatewayMode: null, restModeId: "grok-420-computer-use-sa" });
    const ids = catalog.list().map((m) => m.id);
    for (const id of ["grok-3-fast", "grok-4-fast", "grok-4-fast-expert", "grok-4-expert", "grok-4-heavy", "grok-4.1", "grok-4.1-thinking", "grok-chat-fast", "grok-chat-expert"]) expect(ids).toContain(id);
  });

  it("lets a models.json in the data folder override and extend entries", () => {
    const d = withFile(JSON.stringify([{ id: "grok-chat-fast", displayName: "Fast (mine)", cost: 2 }, { id: "my-expert", displayName: "Mine", created: 1, gatewayMode: "expert", restModeId: "expert", bucket: "expert", minTier: "super" }, { id: "grok-4.1", listed: false }]));
    const { catalog, overrideFile } = ModelCatalog.load(d);
    expect(overrideFile).toBe(path.join(d, "models.json"));
    expect(catalog.get("grok-chat-fast")).toMatchObject({ displayName: "Fast (mine)", cost: 2, gatewayMode: "fast" });
    expect(catalog.get("my-expert")).toMatchObject({ bucket: "expert", minTier: "super" });
    expect(catalog.list().map((m) => m.id)).not.toContain("grok-4.1");
  });

  it("rejects a broken override file with a message naming the entry", () => {
    expect(() => ModelCatalog.load(withFile("{nope"))).toThrow(/not valid JSON/);
    expect(() => ModelCatalog.load(withFile(JSON.stringify([{ id: "x", displayName: "X" }])))).toThrow(/\[0\] \(x\)/);
    expect(() => ModelCatalog.load(withFile(JSON.stringify({ id: "x" })))).toThrow(/JSON array/);
  });
});
