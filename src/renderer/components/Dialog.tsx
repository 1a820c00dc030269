import { type ReactNode, useEffect, useRef } from "react";
import { useI18n } from "../i18n";

/**
 * A modal on the native <dialog>: focus moves in and back, Escape closes, the page behind is
 * inert. `open` drives it; onClose is called for Escape, the close button and the backdrop.
 */
export function Dialog({ open, title, onClose, children, footer, wide, id }: { open: boolean; title: string; onClose: () => void; children: ReactNode; footer?: ReactNode; wide?: boolean; id?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { t } = useI18n();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      id={id}
      className={wide ? "dialog dialog-wide" : "dialog"}
      aria-labelledby={id ? `${id}-title` : undefined}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === ref.current) onClose();
      }}
    >
      {open ? (
        <div className="dialog-body">
          <header className="dialog-head">
            <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
            <button type="button" className="btn btn-ghost" onClick={onClose} aria-label={t("common.close")}>
              ×
            </button>
          </header>
          <div className="dialog-content">{children}</div>
          {footer ? <footer className="dialog-foot">{footer}</footer> : null}
        </div>
      ) : null}
    </dialog>
  );
}

/** Asks before something that cannot be undone; the confirm button names the action. */
export function ConfirmDialog({ open, title, children, confirmLabel, danger, onConfirm, onCancel }: { open: boolean; title: string; children: ReactNode; confirmLabel: string; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog
      open={open}
      id="confirm"
      title={title}
      onClose={onCancel}
      footer={
        <>
          <button type="button" className="btn" onClick={onCancel} autoFocus>
            {t("common.cancel")}
          </button>
          <button type="button" className={danger ? "btn btn-danger" : "btn btn-primary"} onClick={onConfirm}>
            {confirmLabel}
          </button>
        </>
      }
    >
      {children}
    </Dialog>
  );
}
