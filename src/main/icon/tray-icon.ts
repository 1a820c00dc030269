/**
 * The tray icon, drawn from the pool's state: a ring whose filled arc is the usable share of the
 * accounts (from 12 o'clock, clockwise), coloured green (all good), amber (some cooling) or red
 * (none usable); grey with pause bars when serving is paused; a dot at the top right when
 * something needs attention (an account died, a Cloudflare / anti-bot block, the port moved).
 * Themes: "light" (dark-on-light bars), "dark" (light-on-dark bars) and "template" (macOS: black +
 * alpha only, the menu bar tints it). Rendered at 16 px (1×) and 32 px (2×).
 */
import type { IconImage } from "../platform.js";
import { encodePng, type RgbaImage } from "./png.js";
import { TRANSPARENT, hex, rasterize, type Rgba } from "./raster.js";

export type TrayHealth = "good" | "cooling" | "none" | "empty" | "paused";
export type IconTheme = "light" | "dark" | "template";

export interface TrayIconState {
  health: TrayHealth;
  /** Usable share of the accounts that can serve at all (0–1). */
  share: number;
  attention: boolean;
}

export const TRAY_COLORS = {
  good: "#1FA45A",
  cooling: "#E8A317",
  none: "#E5484D",
  paused: "#8B919A",
  attention: "#E5484D",
} as const;

const DESIGN = 16;
const CENTER = 8;
const OUTER = 7.25;
const INNER = 4.25;
const MID = (OUTER + INNER) / 2;
const CAP = (OUTER - INNER) / 2;
/** The attention dot sits in the ring's hole (a badge on the rim would cut the arc apart at 16 px). */
const DOT = { x: CENTER, y: CENTER, r: 2.5 };
/** A sliver of a ring would vanish at 16 px: a non-zero share shows at least this much. */
const MIN_SHARE = 0.07;

interface Palette {
  arc: Rgba;
  track: Rgba;
  bars: Rgba;
  dot: Rgba;
}

function palette(state: TrayIconState, theme: IconTheme): Palette {
  if (theme === "template") {
    return { arc: [0, 0, 0, 1], track: [0, 0, 0, 0.3], bars: [0, 0, 0, 1], dot: [0, 0, 0, 1] };
  }
  const dark = theme === "dark";
  const arc = state.health === "paused" ? hex(TRAY_COLORS.paused) : state.health === "good" ? hex(TRAY_COLORS.good) : state.health === "cooling" ? hex(TRAY_COLORS.cooling) : hex(TRAY_COLORS.none);
  return {
    arc,
    // none usable: the empty ring itself turns red
    track: state.health === "none" ? hex(TRAY_COLORS.none, 0.5) : dark ? [255, 255, 255, 0.32] : [0, 0, 0, 0.24],
    bars: dark ? [255, 255, 255, 0.9] : [0, 0, 0, 0.78],
    dot: hex(TRAY_COLORS.attention),
  };
}

export function displayedShare(state: TrayIconState): number {
  if (state.health === "empty") return 0;
  const s = Math.min(1, Math.max(0, Number.isFinite(state.share) ? state.share : 0));
  return s > 0 && s < MIN_SHARE ? MIN_SHARE : s;
}

/** Angle from 12 o'clock, clockwise, in turns (0–1). */
function turnsOf(dx: number, dy: number): number {
  const t = Math.atan2(dx, -dy) / (2 * Math.PI);
  return t < 0 ? t + 1 : t;
}

function capCenter(turns: number): [number, number] {
  const a = turns * 2 * Math.PI;
  return [CENTER + MID * Math.sin(a), CENTER - MID * Math.cos(a)];
}

export function renderTrayIcon(state: TrayIconState, theme: IconTheme, pixels: number): RgbaImage {
  const p = palette(state, theme);
  const share = displayedShare(state);
  const partial = share > 0 && share < 1;
  const caps = partial ? [capCenter(0), capCenter(share)] : [];
  const paused = state.health === "paused";
  return rasterize(pixels, DESIGN, (x, y) => {
    let c: Rgba = TRANSPARENT;
    const dx = x - CENTER, dy = y - CENTER;
    const r = Math.hypot(dx, dy);
    if (r >= INNER && r <= OUTER) c = share >= 1 || (share > 0 && turnsOf(dx, dy) <= share) ? p.arc : p.track;
    for (const [cx, cy] of caps) if (Math.hypot(x - cx, y - cy) <= CAP) c = p.arc;
    if (paused && y >= 5.25 && y <= 10.75 && ((x >= 5.75 && x <= 7.25) || (x >= 8.75 && x <= 10.25))) c = p.bars;
    if (state.attention && !paused && Math.hypot(x - DOT.x, y - DOT.y) <= DOT.r) c = p.dot;
    return c;
  });
}

/** The theme for this OS and appearance: macOS always uses a template image. */
export function themeFor(os: NodeJS.Platform, prefersDark: boolean): IconTheme {
  if (os === "darwin") return "template";
  return prefersDark ? "dark" : "light";
}

/**
 * The icon Electron gets. On macOS the template image loses colour, so a coloured state there is
 * told by the arc and the dot alone (the tooltip and menu say the rest).
 */
export function trayIconImage(state: TrayIconState, os: NodeJS.Platform, prefersDark: boolean): IconImage {
  const theme = themeFor(os, prefersDark);
  return { png1x: encodePng(renderTrayIcon(state, theme, 16)), png2x: encodePng(renderTrayIcon(state, theme, 32)), template: theme === "template" };
}

/** The app icon (installers, windows): the ring, three quarters full, on a dark rounded square. */
export function renderAppIcon(pixels: number): RgbaImage {
  const bg = hex("#111827");
  const arc = hex(TRAY_COLORS.good);
  const track: Rgba = [255, 255, 255, 0.16];
  const share = 0.75;
  const caps = [capCenter(0), capCenter(share)];
  // design space 16 with the ring scaled into the middle 60 %
  const s = 0.6, off = (DESIGN - DESIGN * s) / 2;
  const radius = 3.6, inset = 0.5;
  return rasterize(pixels, DESIGN, (x, y) => {
    // rounded square
    const qx = Math.max(inset + radius - x, 0, x - (DESIGN - inset - radius));
    const qy = Math.max(inset + radius - y, 0, y - (DESIGN - inset - radius));
    if (x < inset || y < inset || x > DESIGN - inset || y > DESIGN - inset || Math.hypot(qx, qy) > radius) return TRANSPARENT;
    const lx = (x - off) / s, ly = (y - off) / s;
    const dx = lx - CENTER, dy = ly - CENTER;
    const r = Math.hypot(dx, dy);
    let c: Rgba = bg;
    if (r >= INNER && r <= OUTER) c = turnsOf(dx, dy) <= share ? arc : blend(bg, track);
    for (const [cx, cy] of caps) if (Math.hypot(lx - cx, ly - cy) <= CAP) c = arc;
    return c;
  });
}

function blend(under: Rgba, over: Rgba): Rgba {
  const a = over[3];
  return [under[0] * (1 - a) + over[0] * a, under[1] * (1 - a) + over[1] * a, under[2] * (1 - a) + over[2] * a, 1];
}
