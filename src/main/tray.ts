/**
 * The tray: keeps Electron's tray icon, tooltip and menu in step with the pool. Each sample
 * becomes a TrayModel; the icon is re-rendered only when its state (health, share to the percent,
 * dot) or the theme changed, the menu and tooltip only when their text did.
 */
import type { AccountView } from "../server/pool/api.js";
import { trayIconImage, type TrayIconState } from "./icon/tray-icon.js";
import type { MenuItemSpec, Platform, TrayHandle } from "./platform.js";
import { type Attention, type ServerStatus, type TrayActions, type TrayModel, buildTrayModel, iconStateOf, trayMenu, trayTooltip } from "./tray-model.js";

export interface TrayInput {
  accounts: readonly AccountView[];
  now: number;
  requestsToday: number;
}

/** The menu without its click handlers (what tests and the change check compare). */
export function menuShape(items: MenuItemSpec[]): unknown[] {
  return items.map((i) => ({ id: i.id, label: i.label, type: i.type ?? "normal", enabled: i.enabled ?? true, checked: i.checked, ...(i.submenu ? { submenu: menuShape(i.submenu) } : {}) }));
}

export class TrayController {
  private tray: TrayHandle | null = null;
  private lastIcon = "";
  private lastMenu = "";
  private lastTooltip = "";
  private lastTitle: string | null = null;
  private last: TrayInput | null = null;
  private extraAttention: Attention[] = [];
  model: TrayModel | null = null;

  constructor(
    private readonly platform: Platform,
    private readonly server: () => ServerStatus,
    private readonly actions: TrayActions,
    private readonly startAtLogin: () => boolean,
  ) {}

  /** Creates the tray (an empty pool until the first sample). */
  create(now: number): void {
    if (this.tray) return;
    const initial: TrayInput = { accounts: [], now, requestsToday: 0 };
    const model = this.modelOf(initial);
    const icon = iconStateOf(model);
    this.tray = this.platform.createTray(trayIconImage(icon, this.platform.os, this.platform.prefersDark()));
    this.lastIcon = iconKeyOf(icon, this.platform.prefersDark());
    this.tray.onClick(() => this.actions.openManager());
    this.platform.onThemeChanged(() => {
      this.lastIcon = "";
      if (this.last) this.update(this.last);
    });
    this.update(initial);
  }

  /** Attention items from outside the pool (e.g. a Cloudflare block, newer data); replaces the previous set. */
  setAttention(items: Attention[]): void {
    this.extraAttention = items;
    if (this.last) this.update(this.last);
  }

  private modelOf(input: TrayInput): TrayModel {
    return buildTrayModel({ ...input, server: this.server(), attention: this.extraAttention });
  }

  update(input: TrayInput): void {
    this.last = input;
    const tray = this.tray;
    if (!tray) return;
    const model = this.modelOf(input);
    this.model = model;
    const icon = iconStateOf(model);
    const iconKey = iconKeyOf(icon, this.platform.prefersDark());
    if (iconKey !== this.lastIcon) {
      this.lastIcon = iconKey;
      tray.setImage(trayIconImage(icon, this.platform.os, this.platform.prefersDark()));
    }
    const tooltip = trayTooltip(model, input.now);
    if (tooltip !== this.lastTooltip) {
      this.lastTooltip = tooltip;
      tray.setToolTip(tooltip);
    }
    const menu = trayMenu(model, input.now, this.actions, { startAtLogin: this.startAtLogin() });
    const menuKey = JSON.stringify(menuShape(menu));
    if (menuKey !== this.lastMenu) {
      this.lastMenu = menuKey;
      tray.setContextMenu(menu);
    }
    // macOS: the port next to the icon when it is not the one asked for
    const title = model.server.requestedPort !== null ? `:${model.server.port}` : "";
    if (title !== this.lastTitle) {
      this.lastTitle = title;
      tray.setTitle(title);
    }
  }

  /** Re-renders from the last sample (after pause/resume or a start-at-login change). */
  refresh(): void {
    if (this.last) this.update(this.last);
  }

  destroy(): void {
    this.tray?.destroy();
    this.tray = null;
  }
}

function iconKeyOf(s: TrayIconState, dark: boolean): string {
  return `${s.health}|${Math.round(s.share * 100)}|${s.attention}|${dark}`;
}
