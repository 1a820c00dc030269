import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodePng, encodePng, type RgbaImage } from "../../src/main/icon/png.js";
import { TRAY_COLORS, displayedShare, renderAppIcon, renderTrayIcon, themeFor, trayIconImage, type IconTheme, type TrayIconState } from "../../src/main/icon/tray-icon.js";

/**
 * The tray icon's pixels against golden PNGs (test/main/golden). After a deliberate change of the
 * drawing, regenerate them with UPDATE_GOLDEN=1 and look at them before committing.
 */
const GOLDEN = path.join(import.meta.dirname, "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const STATES: Record<string, TrayIconState> = {
  "good-full": { health: "good", share: 1, attention: false },
  "cooling-60": { health: "cooling", share: 0.6, attention: false },
  "cooling-30-attention": { health: "cooling", share: 0.3, attention: true },
  "none-attention": { health: "none", share: 0, attention: true },
  "paused-80": { health: "paused", share: 0.8, attention: false },
  empty: { health: "empty", share: 0, attention: false },
};
const THEMES: IconTheme[] = ["light", "dark", "template"];

function px(img: RgbaImage, x: number, y: number): [number, number, number, number] {
  const o = (y * img.width + x) * 4;
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!, img.data[o + 3]!];
}

function rgb(hex: string): [number, number, number] {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

describe("tray icon golden PNGs", () => {
  for (const [name, state] of Object.entries(STATES)) {
    for (const theme of THEMES) {
      for (const [scale, size] of [["1x", 16], ["2x", 32]] as const) {
        const file = path.join(GOLDEN, `tray-${name}-${theme}@${scale}.png`);
        it(`${name} ${theme} @${scale}`, () => {
          const img = renderTrayIcon(state, theme, size);
          if (UPDATE) writeFileSync(file, encodePng(img));
          expect(existsSync(file), `${path.basename(file)} missing: run with UPDATE_GOLDEN=1 and look at it`).toBe(true);
          const golden = decodePng(readFileSync(file));
          expect([golden.width, golden.height]).toEqual([size, size]);
          let off = 0;
          for (let i = 0; i < img.data.length; i++) if (Math.abs(img.data[i]! - golden.data[i]!) > 1) off++;
          expect(off, "channels differing from the golden file by more than 1").toBe(0);
        });
      }
    }
  }
});

describe("tray icon pixels mean what they should", () => {
  it("all good: the ring is green all round, the middle empty", () => {
    const img = renderTrayIcon(STATES["good-full"]!, "light", 16);
    for (const [x, y] of [[8, 1], [14, 8], [8, 14], [1, 8]] as const) {
      const [r, g, b, a] = px(img, x, y);
      expect(a).toBe(255);
      expect([r, g, b]).toEqual(rgb(TRAY_COLORS.good));
    }
    expect(px(img, 8, 8)[3]).toBe(0);
    expect(px(img, 0, 0)[3]).toBe(0);
  });

  it("some cooling: amber from 12 o'clock clockwise for the usable share, the rest is the faint track", () => {
    const img = renderTrayIcon(STATES["cooling-30-attention"]!, "light", 32);
    const right = px(img, 28, 16); // 3 o'clock = 0.25 turn < 0.3
    expect(right.slice(0, 3)).toEqual(rgb(TRAY_COLORS.cooling));
    expect(right[3]).toBe(255);
    const bottom = px(img, 16, 28); // 6 o'clock: track
    expect(bottom.slice(0, 3)).toEqual([0, 0, 0]);
    expect(bottom[3]).toBeGreaterThan(40);
    expect(bottom[3]).toBeLessThan(90);
    const center = px(img, 16, 16); // attention dot
    expect(center.slice(0, 3)).toEqual(rgb(TRAY_COLORS.attention));
    expect(center[3]).toBe(255);
  });

  it("none usable: the empty ring turns red", () => {
    const img = renderTrayIcon({ health: "none", share: 0, attention: false }, "dark", 16);
    const [r, g, b, a] = px(img, 8, 1);
    expect([r, g, b]).toEqual(rgb(TRAY_COLORS.none));
    expect(a).toBeGreaterThan(100);
    expect(a).toBeLessThan(160);
    expect(px(img, 8, 8)[3]).toBe(0); // no dot without attention
  });

  it("dark theme draws a light track, light theme a dark one", () => {
    const dark = px(renderTrayIcon(STATES.empty!, "dark", 16), 8, 14);
    const light = px(renderTrayIcon(STATES.empty!, "light", 16), 8, 14);
    expect(dark.slice(0, 3)).toEqual([255, 255, 255]);
    expect(light.slice(0, 3)).toEqual([0, 0, 0]);
  });

  it("paused: grey ring with pause bars, no dot", () => {
    const img = renderTrayIcon({ health: "paused", share: 0.8, attention: true }, "light", 32);
    expect(px(img, 16, 2).slice(0, 3)).toEqual(rgb(TRAY_COLORS.paused));
    const bar = px(img, 13, 16);
    expect(bar.slice(0, 3)).toEqual([0, 0, 0]);
    expect(bar[3]).toBeGreaterThan(180);
    expect(px(img, 16, 16)[3]).toBe(0); // between the bars
  });

  it("template images are black + alpha only", () => {
    for (const state of Object.values(STATES)) {
      const img = renderTrayIcon(state, "template", 32);
      for (let i = 0; i < img.data.length; i += 4) expect(img.data[i]! + img.data[i + 1]! + img.data[i + 2]!).toBe(0);
    }
  });

  it("a small non-zero share still shows; the share is clamped", () => {
    expect(displayedShare({ health: "cooling", share: 0.01, attention: false })).toBeGreaterThan(0.05);
    expect(displayedShare({ health: "good", share: 3, attention: false })).toBe(1);
    expect(displayedShare({ health: "empty", share: 1, attention: false })).toBe(0);
  });

  it("macOS gets template images; elsewhere the theme follows dark mode; both scales are PNGs", () => {
    expect(themeFor("darwin", true)).toBe("template");
    expect(themeFor("win32", true)).toBe("dark");
    expect(themeFor("linux", false)).toBe("light");
    const icon = trayIconImage(STATES["good-full"]!, "darwin", false);
    expect(icon.template).toBe(true);
    expect(decodePng(icon.png1x).width).toBe(16);
    expect(decodePng(icon.png2x).width).toBe(32);
  });

  it("the app icon is a rounded dark square with the ring", () => {
    const img = renderAppIcon(128);
    expect(px(img, 0, 0)[3]).toBe(0); // rounded corner
    expect(px(img, 64, 64).slice(0, 3)).toEqual([0x11, 0x18, 0x27]); // background in the ring's hole
    expect(px(img, 64 + 28, 64).slice(0, 3)).toEqual(rgb(TRAY_COLORS.good)); // 3 o'clock on the ring (mid radius 5.75 × 0.6 × 8 px)
  });
});
