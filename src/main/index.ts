/**
 * Electron main process: a thin host around the same server `npm start` runs.
 * Single-instance lock, the embedded proxy on 127.0.0.1:8000 with its data in the app's
 * user-data folder, and a tray icon whose menu opens the manager in the browser.
 * The tray quota gauge, notifications and the React manager window come with the desktop-shell
 * issue; their logic will live in plain modules tested under Node (this file stays thin).
 */
import path from "node:path";
import { app, Menu, Tray, nativeImage, shell } from "electron";
import { loadRuntimeConfig } from "../server/config/env.js";
import { startServer, type RunningServer } from "../server/server.js";

let running: RunningServer | null = null;
let tray: Tray | null = null;

async function setupServer(): Promise<void> {
  const runtime = loadRuntimeConfig({ GROK2API_DATA_DIR: path.join(app.getPath("userData"), "data"), ...process.env });
  running = await startServer(runtime);
  if (running.generatedPassword) console.log(`Generated admin password (shown once): ${running.generatedPassword}`);
}

function setupTray(): void {
  const icon = nativeImage.createFromPath(path.join(import.meta.dirname, "../../resources/tray.png"));
  tray = new Tray(icon);
  tray.setToolTip("Grok2API");
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: "Open manager", click: () => running && void shell.openExternal(`${running.url}/manage`) },
      { type: "separator" },
      { label: "Quit", click: () => app.quit() },
    ]),
  );
}

if (!app.requestSingleInstanceLock()) app.quit();
else {
  app.on("window-all-closed", () => {
    /* tray app: keep running */
  });
  app.on("before-quit", () => void running?.close());
  void app.whenReady().then(async () => {
    await setupServer();
    setupTray();
  });
}
