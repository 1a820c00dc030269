import { createElement, type ReactElement } from "react";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { I18nProvider, type Lang } from "../../src/renderer/i18n";

/** Renders a component into a happy-dom document inside the manager's i18n provider. */
export function render(el: ReactElement, lang: Lang = "en"): { container: HTMLElement; root: Root; rerender: (el: ReactElement) => Promise<void>; unmount: () => void } {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
  const container = document.createElement("div");
  document.body.append(container);
  const root = createRoot(container);
  const wrap = (x: ReactElement) => createElement(I18nProvider, { initial: lang, children: x });
  act(() => root.render(wrap(el)));
  return {
    container,
    root,
    rerender: async (x) => {
      await act(async () => root.render(wrap(x)));
    },
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    },
  };
}

export { act };

/** Types into an input the way React sees it (the native value setter, then an input event). */
export function typeInto(el: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value")!.set!.call(el, value);
  el.dispatchEvent(new Event("input", { bubbles: true }));
}
