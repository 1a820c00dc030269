import { useEffect, useRef, useState } from "react";

/**
 * Shows `display`; the edit button turns it into an input saved with Enter or on leaving the field
 * (Escape cancels). Used for tags and notes in the accounts table.
 */
export function InlineEdit({ value, display, label, placeholder, onSave, editLabel, className }: { value: string; display: React.ReactNode; label: string; placeholder?: string; onSave: (v: string) => Promise<void>; editLabel: string; className?: string }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(value);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (editing) input.current?.focus();
  }, [editing]);
  const save = async () => {
    if (busy) return;
    if (text === value) {
      setEditing(false);
      return;
    }
    setBusy(true);
    try {
      await onSave(text);
      setEditing(false);
    } finally {
      setBusy(false);
    }
  };
  if (editing)
    return (
      <input
        ref={input}
        className={`inline-input ${className ?? ""}`}
        aria-label={label}
        value={text}
        placeholder={placeholder}
        disabled={busy}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => void save()}
        onKeyDown={(e) => {
          if (e.key === "Enter") void save();
          if (e.key === "Escape") {
            setText(value);
            setEditing(false);
          }
        }}
      />
    );
  return (
    <span className={`inline-view ${className ?? ""}`}>
      {display}
      <button
        type="button"
        className="btn btn-ghost btn-icon"
        aria-label={editLabel}
        title={editLabel}
        onClick={() => {
          setText(value);
          setEditing(true);
        }}
      >
        ✎
      </button>
    </span>
  );
}
