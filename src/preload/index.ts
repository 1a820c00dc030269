/**
 * Preload of the manager window (sandboxed, context-isolated): exposes the desktop API as
 * `window.grok2apiDesktop` and nothing else — no ipcRenderer, no Node.
 */
import { contextBridge, ipcRenderer } from "electron";
import { DESKTOP_API_GLOBAL } from "../shared/desktop-api.js";
import { createDesktopApi } from "./api.js";

contextBridge.exposeInMainWorld(DESKTOP_API_GLOBAL, createDesktopApi((channel, ...args) => ipcRenderer.invoke(channel, ...args)));
