/**
 * Renders the app's icons into resources/ (run: node --import tsx scripts/render-icons.ts):
 * icon.png (512 px, Linux and the windows), icon.ico (Windows), icon.icns (macOS) and the
 * default tray images. Drawn by the same code as the live tray icon (src/main/icon).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { encodeIcns, encodeIco } from "../src/main/icon/containers.js";
import { encodePng } from "../src/main/icon/png.js";
import { renderAppIcon, renderTrayIcon } from "../src/main/icon/tray-icon.js";

const out = path.resolve(import.meta.dirname, "..", "resources");
mkdirSync(out, { recursive: true });
const png = (size: number) => encodePng(renderAppIcon(size));
writeFileSync(path.join(out, "icon.png"), png(512));
writeFileSync(path.join(out, "icon.ico"), encodeIco([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, png: png(size) }))));
writeFileSync(path.join(out, "icon.icns"), encodeIcns([16, 32, 64, 128, 256, 512, 1024].map((size) => ({ size, png: png(size) }))));
const idle = { health: "empty", share: 0, attention: false } as const;
writeFileSync(path.join(out, "tray.png"), encodePng(renderTrayIcon(idle, "light", 16)));
writeFileSync(path.join(out, "tray@2x.png"), encodePng(renderTrayIcon(idle, "light", 32)));
writeFileSync(path.join(out, "trayTemplate.png"), encodePng(renderTrayIcon(idle, "template", 16)));
writeFileSync(path.join(out, "trayTemplate@2x.png"), encodePng(renderTrayIcon(idle, "template", 32)));
console.log(`icons written to ${out}`);
