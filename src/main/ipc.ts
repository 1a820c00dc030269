/**
 * The main side of the desktop API (src/shared/desktop-api.ts). Every call is checked first: it
 * must come from the top frame of the manager window, showing a page of the app's own server;
 * anything else is refused (and logged) before its arguments are looked at. Arguments are
 * `unknown` and validated here; answers never hold account cookies, keys or passwords.
 */
import { DESKTOP_API_CHANNELS, type DesktopApi, type DesktopApiVerb } from "../shared/desktop-api.js";
import type { IpcMainLike, IpcSender } from "./platform.js";

export class IpcRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IpcRefused";
  }
}

export interface SenderPolicy {
  /** The manager window's web contents id (null while it is closed). */
  managerId(): number | null;
  /** Origin the manager's pages come from (the server's base URL). */
  origin(): string;
}

export function checkSender(s: IpcSender, policy: SenderPolicy): string | null {
  const id = policy.managerId();
  if (id === null || s.webContentsId !== id) return `unknown sender (web contents ${s.webContentsId})`;
  if (!s.mainFrame) return "sender is a sub-frame";
  let origin: string;
  try {
    origin = new URL(s.frameUrl).origin;
  } catch {
    return `sender frame has no valid URL (${JSON.stringify(s.frameUrl)})`;
  }
  if (origin !== policy.origin()) return `sender frame is on ${origin}, not the app's server`;
  return null;
}

/** The verbs implemented by main; arguments arrive as unknown and are checked by each verb. */
export type DesktopApiHandlers = { [K in DesktopApiVerb]: (...args: unknown[]) => ReturnType<DesktopApi[K]> };

export function assertArgs(verb: string, args: unknown[], max: number): void {
  if (!Array.isArray(args) || args.length > max) throw new IpcRefused(`${verb}: expected at most ${max} argument(s)`);
}

/** Only http(s) URLs without credentials open externally. */
export function externalUrlOk(raw: unknown): raw is string {
  if (typeof raw !== "string" || raw.length > 2048) return false;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  return (u.protocol === "https:" || u.protocol === "http:") && !u.username && !u.password;
}

/** Registers one ipcMain handler per verb, behind the sender check. */
export function registerDesktopApi(ipc: IpcMainLike, policy: SenderPolicy, handlers: DesktopApiHandlers, log: (msg: string, fields?: Record<string, unknown>) => void): void {
  for (const verb of Object.keys(DESKTOP_API_CHANNELS) as DesktopApiVerb[]) {
    const channel = DESKTOP_API_CHANNELS[verb];
    ipc.handle(channel, async (sender, args) => {
      const bad = checkSender(sender, policy);
      if (bad) {
        log("desktop API call refused", { verb, reason: bad });
        throw new IpcRefused(`refused: ${bad}`);
      }
      return (handlers[verb] as (...a: unknown[]) => Promise<unknown>)(...(Array.isArray(args) ? args : []));
    });
  }
}
