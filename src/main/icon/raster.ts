/**
 * A few-line rasteriser: a shader gives the colour at any point of a square design space, each
 * pixel averages 4×4 samples of it (premultiplied, so edges are anti-aliased without fringes).
 */
import { createImage, type RgbaImage } from "./png.js";

/** Straight-alpha colour, channels 0–255, alpha 0–1. */
export type Rgba = readonly [number, number, number, number];
export const TRANSPARENT: Rgba = [0, 0, 0, 0];

export function hex(color: string, alpha = 1): Rgba {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) throw new Error(`bad colour ${color}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16), alpha];
}

/** `shade(x, y)` in design units 0…`design` (x right, y down). */
export function rasterize(pixels: number, design: number, shade: (x: number, y: number) => Rgba, samples = 4): RgbaImage {
  const img = createImage(pixels, pixels);
  const unit = design / pixels;
  const n = samples * samples;
  for (let py = 0; py < pixels; py++) {
    for (let px = 0; px < pixels; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const c = shade((px + (sx + 0.5) / samples) * unit, (py + (sy + 0.5) / samples) * unit);
          r += c[0] * c[3];
          g += c[1] * c[3];
          b += c[2] * c[3];
          a += c[3];
        }
      }
      const o = (py * pixels + px) * 4;
      if (a > 0) {
        img.data[o] = Math.round(r / a);
        img.data[o + 1] = Math.round(g / a);
        img.data[o + 2] = Math.round(b / a);
      }
      img.data[o + 3] = Math.round((a / n) * 255);
    }
  }
  return img;
}
