// Toasts: short notices in a corner that announce themselves to screen readers (a polite live
// region), close with their button and hide by themselves after a while — not while the pointer or
// the keyboard focus is on them, so nobody loses one they are reading. The alerts' host
// (`AlertToasts`) shows the live `alert.raised` / `alert.cleared` of ../state/alerts.ts.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { dismissToast, type Toast, toasts } from "../state/alerts.ts";
import "./toast.css";

/** How long a toast stays when left alone. */
export const toastMs = 10_000;

function ToastItem(props: { toast: Toast; onClose: () => void }): JSX.Element {
  const { toast } = props;
  const [held, setHeld] = useState(false);
  const close = useRef(props.onClose);
  close.current = props.onClose;
  useEffect(() => {
    if (held) return;
    const timer = setTimeout(() => close.current(), toastMs);
    return () => clearTimeout(timer);
  }, [held]);
  const encoded = encodeURIComponent(toast.portfolioId);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: hover and focus only hold the auto-hide; the button closes
    <div
      class="toast"
      data-tone={toast.tone}
      data-testid="toast"
      onMouseEnter={() => setHeld(true)}
      onMouseLeave={() => setHeld(false)}
      onFocusIn={() => setHeld(true)}
      onFocusOut={() => setHeld(false)}
    >
      <div class="toast-text">
        <strong class="toast-title">
          {toast.title}
          {toast.portfolioName ? ` · ${toast.portfolioName}` : ""}
        </strong>
        <span class="toast-body">{toast.body}</span>
        <span class="toast-links">
          <a href={`/alerts?portfolio=${encoded}`}>Alerts</a>
          <a href={`/risk?portfolio=${encoded}`}>Risk</a>
          <a href={`/?portfolio=${encoded}`}>Exposures</a>
        </span>
      </div>
      <button type="button" class="toast-close" aria-label={`Dismiss: ${toast.title}`} onClick={props.onClose}>
        ×
      </button>
    </div>
  );
}

/** The live alerts' toasts, bottom right; the region is there (empty) so screen readers hear new ones. */
export function AlertToasts(): JSX.Element {
  return (
    <div class="toasts" role="status" aria-live="polite" aria-label="Live alerts">
      {toasts.value.map((toast) => (
        <ToastItem key={toast.id} toast={toast} onClose={() => dismissToast(toast.id)} />
      ))}
    </div>
  );
}
