// @vitest-environment happy-dom
import { createElement } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SettingsData, SettingsSchemaData } from "../../src/shared/admin-api";
import { SETTINGS_META } from "../../src/shared/settings-meta";
import { describeSection } from "../../src/server/admin/settings-fields";
import { globalSchema, grokSchema } from "../../src/server/config/settings-schema";
import { SettingsForm } from "../../src/renderer/components/SettingsForm";
import { buildForm, diffDraft, initialDraft, parseField, patchBody } from "../../src/renderer/lib/settings-form";
import { act, render, typeInto } from "./render";

/** The real schema description, exactly as GET /api/settings/schema sends it. */
const schema: SettingsSchemaData = JSON.parse(JSON.stringify({ global: describeSection(globalSchema), grok: describeSection(grokSchema) }));
const values: SettingsData = JSON.parse(JSON.stringify({ global: { ...globalSchema.parse({}), admin_password: "" }, grok: grokSchema.parse({}) }));

const field = (key: string) => buildForm(schema).flatMap((g) => g.fields).find((f) => f.key === key)!;

describe("settings form logic", () => {
  it("every schema field has labels, help and a group in both languages (none falls to 'other')", () => {
    const missing = [...schema.global.map((f) => `global.${f.name}`), ...schema.grok.map((f) => `grok.${f.name}`)].filter((k) => !SETTINGS_META[k]);
    expect(missing, `add these to src/shared/settings-meta.ts: ${missing.join(", ")}`).toEqual([]);
    for (const [k, m] of Object.entries(SETTINGS_META)) for (const text of [m.label, m.help, ...(m.danger ? [m.danger] : [])]) expect(text.en && text.zh, k).toBeTruthy();
    expect(buildForm(schema).map((g) => g.id)).not.toContain("other");
  });

  it("picks inputs from the schema's kinds and keeps the defaults", () => {
    expect(field("grok.show_thinking")).toMatchObject({ input: "checkbox", schema: { default: true } });
    expect(field("grok.chat_transport")).toMatchObject({ input: "select", schema: { options: ["gateway", "rest", "auto"], default: "gateway" } });
    expect(field("grok.stream_chunk_timeout")).toMatchObject({ input: "number", schema: { min: 1, max: 3600, default: 120 } });
    expect(field("grok.max_attempts").schema).toMatchObject({ int: true, min: 1, max: 20 });
    expect(field("grok.model_map").input).toBe("json");
    expect(field("grok.retry_status_codes").input).toBe("list");
    expect(field("grok.api_key").input).toBe("password"); // secret
    expect(field("global.admin_password")).toMatchObject({ input: "password", schema: null });
  });

  it("unknown fields are shown under 'other', never dropped", () => {
    const extra: SettingsSchemaData = { ...schema, grok: [...schema.grok, { name: "brand_new", kind: "string", default: "" }] };
    const groups = buildForm(extra);
    expect(groups.at(-1)).toMatchObject({ id: "other", fields: [{ key: "grok.brand_new" }] });
  });

  it("checks each input against the schema's limits as typed", () => {
    const t = field("grok.stream_chunk_timeout");
    expect(parseField(t, "45")).toEqual({ value: 45 });
    expect(parseField(t, "99999")).toEqual({ error: { key: "form.err.max", vars: { max: 3600 } } });
    expect(parseField(t, "0")).toEqual({ error: { key: "form.err.min", vars: { min: 1 } } });
    expect(parseField(t, "abc")).toEqual({ error: { key: "form.err.number" } });
    expect(parseField(field("grok.max_attempts"), "2.5")).toEqual({ error: { key: "form.err.int" } });
    expect(parseField(field("grok.model_map"), "{nope")).toMatchObject({ error: { key: "form.err.json" } });
    expect(parseField(field("grok.model_map"), "[1]")).toEqual({ error: { key: "form.err.jsonObject" } });
    expect(parseField(field("grok.retry_status_codes"), "401, 429")).toEqual({ value: [401, 429] });
    expect(parseField(field("grok.retry_status_codes"), "401, x")).toEqual({ error: { key: "form.err.list" } });
    expect(parseField(field("global.admin_password"), "short")).toEqual({ error: { key: "form.err.password" } });
    expect(parseField(field("grok.chat_transport"), "carrier-pigeon")).toEqual({ error: { key: "form.err.option" } });
  });

  it("diffs the draft against the stored values and builds the original's patch body", () => {
    const groups = buildForm(schema);
    const draft = initialDraft(groups, values);
    expect(diffDraft(groups, values, draft)).toEqual({ changes: [], errors: {} });
    draft["grok.stream_chunk_timeout"] = "45";
    draft["grok.show_thinking"] = false;
    draft["global.admin_password"] = ""; // empty: no change
    draft["grok.keepalive_interval"] = "15.0"; // same number: no change
    const { changes, errors } = diffDraft(groups, values, draft);
    expect(errors).toEqual({});
    expect(changes.map((c) => [c.field.key, c.from, c.to])).toEqual([
      ["grok.show_thinking", true, false],
      ["grok.stream_chunk_timeout", 120, 45],
    ]);
    expect(patchBody(changes)).toEqual({ grok_config: { show_thinking: false, stream_chunk_timeout: 45 } });
  });
});

describe("<SettingsForm>", () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => {
    cleanup?.();
    vi.useRealTimers();
  });

  it("renders every group with labels, keys and defaults; validates locally, then with the server, and saves what changed", async () => {
    const validate = vi.fn(async (body: object) => (JSON.stringify(body).includes("ftp://") ? [{ field: "grok.proxy_url", message: "the scheme must be http, https, socks4 or socks5" }] : []));
    const save = vi.fn(async () => {});
    const onSaved = vi.fn();
    const r = render(createElement(SettingsForm, { schema, values, validate, save, onSaved, checkDelayMs: 0 }));
    cleanup = r.unmount;
    const $ = <T extends Element>(sel: string) => r.container.querySelector(sel) as T;
    const saveBtn = () => $<HTMLButtonElement>("#settings-save");

    expect([...r.container.querySelectorAll("legend")].map((l) => l.textContent)).toEqual(["Access", "Connection to grok.com", "Anti-bot header", "Answers", "Timeouts and failover", "Models", "Images and media", "Logs"]);
    const box = $('[data-key="grok.stream_chunk_timeout"]');
    expect(box.querySelector("label")!.textContent).toBe("Silence between outputs (s)");
    expect(box.querySelector(".key")!.textContent).toBe("grok.stream_chunk_timeout");
    expect(box.querySelector(".help")!.textContent).toContain("Default: 120");
    expect($('[data-key="grok.image_url_allow_private"] .danger').textContent).toContain("SSRF");
    expect(saveBtn().disabled).toBe(true);
    expect(saveBtn().textContent).toBe("No changes");

    // local: over the schema's max
    const input = $<HTMLInputElement>("#set-grok-stream_chunk_timeout");
    await act(async () => typeInto(input, "99999"));
    expect(box.querySelector(".field-error")!.textContent).toBe("At most 3600.");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(saveBtn().disabled).toBe(true);
    expect(validate).not.toHaveBeenCalled(); // local problems first

    // server: a format only the server's schema knows
    await act(async () => typeInto(input, "45"));
    await act(async () => typeInto($<HTMLInputElement>("#set-grok-proxy_url"), "ftp://x:21"));
    await act(async () => new Promise((res) => setTimeout(res, 10)));
    expect($('[data-key="grok.proxy_url"] .field-error').textContent).toBe("the scheme must be http, https, socks4 or socks5");
    expect(saveBtn().disabled).toBe(true);

    await act(async () => typeInto($<HTMLInputElement>("#set-grok-proxy_url"), ""));
    await act(async () => new Promise((res) => setTimeout(res, 10)));
    expect($('[data-key="grok.proxy_url"] .field-error')).toBeNull();
    expect(saveBtn().textContent).toBe("Save 1 change");
    await act(async () => saveBtn().click());
    expect(save).toHaveBeenCalledWith({ grok_config: { stream_chunk_timeout: 45 } });
    expect($("#settings-result").textContent).toBe("Saved 1 setting:grok.stream_chunk_timeout: 120 → 45");
    expect(onSaved).toHaveBeenCalledTimes(1);
  });

  it("shows the server's refusal and marks the field it names; secrets never appear in the change list", async () => {
    const save = vi.fn(async () => {
      throw new Error("Invalid setting grok.user_agent: Too small");
    });
    const r = render(createElement(SettingsForm, { schema, values, validate: async () => [], save, checkDelayMs: 0 }));
    cleanup = r.unmount;
    const ua = r.container.querySelector("#set-grok-user_agent") as HTMLInputElement;
    await act(async () => typeInto(ua, "x"));
    await act(async () => new Promise((res) => setTimeout(res, 10)));
    await act(async () => (r.container.querySelector("#settings-save") as HTMLButtonElement).click());
    expect(r.container.querySelector("#settings-result")!.textContent).toBe("Invalid setting grok.user_agent: Too small");
    expect(ua.getAttribute("aria-invalid")).toBe("true");

    const ok = render(createElement(SettingsForm, { schema, values, validate: async () => [], save: async () => {}, checkDelayMs: 0 }), "zh");
    const prev = cleanup;
    cleanup = () => {
      prev?.();
      ok.unmount();
    };
    await act(async () => typeInto(ok.container.querySelector("#set-grok-api_key") as HTMLInputElement, "sk-secret-value"));
    await act(async () => new Promise((res) => setTimeout(res, 10)));
    await act(async () => (ok.container.querySelector("#settings-save") as HTMLButtonElement).click());
    const result = ok.container.querySelector("#settings-result")!.textContent!;
    expect(result).toContain("已保存 1 项设置");
    expect(result).toContain("grok.api_key：（空） → （已隐藏）");
    expect(result).not.toContain("sk-secret-value");
  });
});
