/**
 * Preload of the hidden gateway pages (sandboxed, context-isolated, on the grok.com origin):
 * opens the gateway WebSockets main asks for and relays their events back. The sockets are the
 * page's own, so the handshake carries the browser's Origin, cookies, user agent and TLS.
 * Nothing is exposed to the page itself. Main side: src/main/transport/page-gateway.ts.
 */
import { ipcRenderer } from "electron";
import { GATEWAY_COMMAND_CHANNEL, GATEWAY_EVENT_CHANNEL, createGatewayRelay } from "./gateway-relay.js";

const relay = createGatewayRelay((url) => new WebSocket(url), (ev) => ipcRenderer.send(GATEWAY_EVENT_CHANNEL, ev));
ipcRenderer.on(GATEWAY_COMMAND_CHANNEL, (_event, cmd: unknown) => relay.command(cmd));
