import { readFileSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32, createImage, decodePng, encodePng } from "../../src/main/icon/png.js";

describe("PNG codec", () => {
  it("round-trips RGBA pixels and writes a valid signature, IHDR and CRCs", () => {
    const img = createImage(5, 3);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) & 0xff;
    const png = encodePng(img);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.toString("latin1", 12, 16)).toBe("IHDR");
    expect(png.readUInt32BE(16)).toBe(5);
    expect(png.readUInt32BE(20)).toBe(3);
    expect([png[24], png[25]]).toEqual([8, 6]); // 8-bit RGBA
    const back = decodePng(png);
    expect(back.width).toBe(5);
    expect(Buffer.from(back.data)).toEqual(Buffer.from(img.data));
  });

  it("crc32 matches the standard check value", () => {
    expect((crc32(Buffer.from("123456789")) ^ 0xffffffff) >>> 0).toBe(0xcbf43926);
  });

  it("refuses a corrupted chunk", () => {
    const png = encodePng(createImage(2, 2));
    png[30] = png[30]! ^ 0xff; // inside IHDR's data/CRC region
    expect(() => decodePng(png)).toThrow(/CRC|PNG/);
  });

  it("decodes every filter type (a file written by another tool: resources' own PNGs)", () => {
    // hand-made: one row per filter type 0–4 over the same pixels
    const width = 3, rows = 5;
    const pixels = Buffer.alloc(width * 4 * rows);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 53 + 7) & 0xff;
    const raw: number[] = [];
    for (let y = 0; y < rows; y++) {
      raw.push(y);
      for (let x = 0; x < width * 4; x++) {
        const cur = pixels[y * width * 4 + x]!;
        const a = x >= 4 ? pixels[y * width * 4 + x - 4]! : 0;
        const b = y > 0 ? pixels[(y - 1) * width * 4 + x]! : 0;
        const c = x >= 4 && y > 0 ? pixels[(y - 1) * width * 4 + x - 4]! : 0;
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][y]!;
        raw.push((cur - pred) & 0xff);
      }
    }
    const ours = encodePng({ width, height: rows, data: pixels });
    // swap our IDAT for the multi-filter one
    const idat = zlib.deflateSync(Buffer.from(raw));
    const head = Buffer.alloc(8);
    head.writeUInt32BE(idat.length, 0);
    head.write("IDAT", 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE((crc32(idat, crc32(Buffer.from("IDAT"))) ^ 0xffffffff) >>> 0, 0);
    const file = Buffer.concat([ours.subarray(0, 33), head, idat, crc, ours.subarray(ours.length - 12)]);
    expect(Buffer.from(decodePng(file).data)).toEqual(pixels);
    // and the packaged icons written by scripts/render-icons decode
    const icon = decodePng(readFileSync(path.join(import.meta.dirname, "../../resources/icon.png")));
    expect(icon.width).toBe(512);
  });
});

describe("icon containers (resources/icon.ico, icon.icns)", () => {
  it("the .ico holds PNG entries whose sizes and offsets add up", async () => {
    const ico = readFileSync(path.join(import.meta.dirname, "../../resources/icon.ico"));
    expect(ico.readUInt16LE(2)).toBe(1);
    const n = ico.readUInt16LE(4);
    expect(n).toBeGreaterThanOrEqual(5);
    const sizes: number[] = [];
    for (let i = 0; i < n; i++) {
      const e = 6 + 16 * i;
      const len = ico.readUInt32LE(e + 8), off = ico.readUInt32LE(e + 12);
      const img = decodePng(ico.subarray(off, off + len));
      expect(img.width).toBe(ico[e] === 0 ? 256 : ico[e]);
      sizes.push(img.width);
    }
    expect(sizes).toContain(256);
  });

  it("the .icns holds typed PNG entries up to 1024 px", () => {
    const icns = readFileSync(path.join(import.meta.dirname, "../../resources/icon.icns"));
    expect(icns.toString("latin1", 0, 4)).toBe("icns");
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    const found: Record<string, number> = {};
    for (let p = 8; p < icns.length; ) {
      const type = icns.toString("latin1", p, p + 4), len = icns.readUInt32BE(p + 4);
      found[type] = decodePng(icns.subarray(p + 8, p + len)).width;
      p += len;
    }
    expect(found).toMatchObject({ ic07: 128, ic08: 256, ic09: 512, ic10: 1024 });
  });
});
