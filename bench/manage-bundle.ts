/**
 * First-load size of the manager: every file /manage's HTML references (script, stylesheet,
 * icon) plus the HTML itself, raw, gzip (level 9, as a server or CDN would send it) and brotli.
 * Target: under 300 KB gzip. Builds the manager first when out/renderer is missing.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, "out", "renderer");

export async function bundleSizes(): Promise<{ files: Array<{ file: string; raw: number; gzip: number; brotli: number }>; total: { raw: number; gzip: number; brotli: number } }> {
  if (!existsSync(path.join(OUT, "index.html"))) {
    const { build } = await import("vite");
    await build({ configFile: path.join(ROOT, "src/renderer/vite.config.ts"), logLevel: "error" });
  }
  const html = readFileSync(path.join(OUT, "index.html"));
  const refs = [...html.toString().matchAll(/(?:src|href)="\/static\/manager\/assets\/([^"]+)"/g)].map((m) => m[1]!);
  const files = [{ file: "index.html", body: html }, ...refs.map((f) => ({ file: `assets/${f}`, body: readFileSync(path.join(OUT, "assets", f)) }))].map(({ file, body }) => ({
    file,
    raw: body.length,
    gzip: gzipSync(body, { level: 9 }).length,
    brotli: brotliCompressSync(body).length,
  }));
  const total = files.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip, brotli: t.brotli + f.brotli }), { raw: 0, gzip: 0, brotli: 0 });
  return { files, total };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { files, total } = await bundleSizes();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  for (const f of files) console.log(`${f.file.padEnd(34)} raw ${kb(f.raw).padStart(9)}  gzip ${kb(f.gzip).padStart(8)}  brotli ${kb(f.brotli).padStart(8)}`);
  console.log(`${"first load".padEnd(34)} raw ${kb(total.raw).padStart(9)}  gzip ${kb(total.gzip).padStart(8)}  brotli ${kb(total.brotli).padStart(8)}`);
  const ok = total.gzip < 300 * 1024;
  console.log(`target: under 300 KB gzip — ${ok ? "met" : "NOT met"}`);
  process.exit(ok ? 0 : 1);
}
