/**
 * The relay the gateway page runs (Electron-free, tested in Node with `ws` standing in for the
 * browser's WebSocket): commands from main open, feed and close sockets; socket events go back.
 */
export const GATEWAY_COMMAND_CHANNEL = "grok2api:gateway-command";
export const GATEWAY_EVENT_CHANNEL = "grok2api:gateway-event";

/** The part of the browser's WebSocket the relay uses. */
export interface BrowserSocket {
  readonly readyState: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
}

export type RelayEvent =
  | { id: string; type: "open" }
  | { id: string; type: "message"; data: string }
  | { id: string; type: "error"; message: string }
  | { id: string; type: "close"; code: number; reason: string };

const OPEN = 1;

export function createGatewayRelay(connect: (url: string) => BrowserSocket, emit: (ev: RelayEvent) => void) {
  const sockets = new Map<string, BrowserSocket>();
  return {
    get size() {
      return sockets.size;
    },
    command(raw: unknown): void {
      if (typeof raw !== "object" || raw === null) return;
      const cmd = raw as { op?: unknown; id?: unknown; url?: unknown; data?: unknown; code?: unknown };
      if (typeof cmd.id !== "string") return;
      const id = cmd.id;
      if (cmd.op === "open" && typeof cmd.url === "string" && /^wss?:\/\//.test(cmd.url) && !sockets.has(id)) {
        let ws: BrowserSocket;
        try {
          ws = connect(cmd.url);
        } catch (err) {
          emit({ id, type: "error", message: String((err as Error)?.message ?? err) });
          emit({ id, type: "close", code: 1006, reason: "" });
          return;
        }
        ws.binaryType = "arraybuffer";
        sockets.set(id, ws);
        ws.onopen = () => emit({ id, type: "open" });
        ws.onmessage = (ev) => {
          if (typeof ev.data === "string") emit({ id, type: "message", data: ev.data });
        };
        ws.onerror = () => emit({ id, type: "error", message: "gateway WebSocket error" });
        ws.onclose = (ev) => {
          sockets.delete(id);
          emit({ id, type: "close", code: ev.code, reason: ev.reason });
        };
      } else if (cmd.op === "send" && typeof cmd.data === "string") {
        const ws = sockets.get(id);
        if (ws && ws.readyState === OPEN) ws.send(cmd.data);
      } else if (cmd.op === "close") {
        const ws = sockets.get(id);
        const code = typeof cmd.code === "number" && (cmd.code === 1000 || (cmd.code >= 3000 && cmd.code <= 4999)) ? cmd.code : 1000;
        ws?.close(code);
      }
    },
  };
}
