// The dialog: a reason (and, for a redaction, the new text), instead of prompt(): a real
// modal, labelled, its error tied to the field, the focus given back to the opener. Before a
// moderator publishes a text, it shows where the leak guard found names (marked), and can
// ask why a marked word is not a participant.

import { $ } from "./page.js";
import { markNames, say, t } from "./util.js";

const dialog = $("ask");
let dialogOpener = null;
let dialogAnswer = null;

/** Ask in the modal dialog; resolves to {reason, body, vouch} or null if cancelled.
 *  `reasonLabel: null` asks for a confirmation only; `reason` fills the field in. `marked`:
 *  {text, mentions} shows a text with the names found in it marked; `vouchLabel` adds the
 *  optional field for why a marked word is not a participant. */
export function ask({
  title, text = "", reasonLabel = null, minLength = 5, body = null, bodyLabel = "", confirm,
  marked = null, vouchLabel = null, reason: given = "",
}) {
  if (dialogAnswer) closeDialog(null);
  dialogOpener = document.activeElement;
  say($("ask-title"), title);
  say($("ask-text"), text);
  $("ask-text").hidden = !text;
  const reason = $("ask-reason");
  $("ask-reason-field").hidden = reasonLabel === null;
  say($("ask-reason-label"), reasonLabel || "");
  reason.value = given;
  reason.dataset.min = String(reasonLabel === null ? 0 : minLength);
  reason.removeAttribute("aria-invalid");
  say($("ask-reason-error"), "");
  $("ask-body-field").hidden = body === null;
  $("ask-body").value = body ?? "";
  say($("ask-body-label"), bodyLabel);
  $("ask-marked-field").hidden = !marked?.mentions?.length;
  if (marked?.mentions?.length) markNames($("ask-marked"), marked.text, marked.mentions);
  $("ask-vouch-field").hidden = vouchLabel === null;
  say($("ask-vouch-label"), vouchLabel || "");
  $("ask-vouch").value = "";
  $("ask-vouch").removeAttribute("aria-invalid");
  say($("ask-vouch-error"), "");
  say($("ask-ok"), confirm);
  dialog.showModal();  // modal: the page behind is inert, Tab stays in the dialog
  (reasonLabel === null ? $("ask-ok") : reason).focus();
  return new Promise((resolve) => { dialogAnswer = resolve; });
}

function closeDialog(answer) {
  const resolve = dialogAnswer;
  dialogAnswer = null;
  if (dialog.open) dialog.close();
  const back = dialogOpener;
  dialogOpener = null;
  if (back && back.isConnected) back.focus();
  if (resolve) resolve(answer);
}

export function setupDialog() {
  if (!dialog) return;
  $("ask-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const reason = $("ask-reason");
    const value = reason.value.trim();
    const min = Number(reason.dataset.min);
    if (value.length < min) {
      reason.setAttribute("aria-invalid", "true");
      say($("ask-reason-error"), t("reason_too_short", { min }));
      reason.focus();
      return;
    }
    const vouch = $("ask-vouch-field").hidden ? "" : $("ask-vouch").value.trim();
    if (vouch && vouch.length < 5) {
      $("ask-vouch").setAttribute("aria-invalid", "true");
      say($("ask-vouch-error"), t("reason_too_short", { min: 5 }));
      $("ask-vouch").focus();
      return;
    }
    const body = $("ask-body-field").hidden ? null : $("ask-body").value.trim() || null;
    closeDialog({ reason: value, body, vouch: vouch || null });
  });
  $("ask-cancel").addEventListener("click", () => closeDialog(null));
  // A modal dialog lets Tab leave for the browser's own controls; keep it going round.
  dialog.addEventListener("keydown", (ev) => {
    if (ev.key !== "Tab") return;
    const stops = [...dialog.querySelectorAll("textarea, button, input, select")]
      .filter((node) => !node.disabled && node.getClientRects().length);
    if (!stops.length) return;
    const first = stops[0];
    const last = stops[stops.length - 1];
    if (ev.shiftKey && document.activeElement === first) {
      ev.preventDefault();
      last.focus();
    } else if (!ev.shiftKey && document.activeElement === last) {
      ev.preventDefault();
      first.focus();
    }
  });
  dialog.addEventListener("cancel", (ev) => {  // Escape
    ev.preventDefault();
    closeDialog(null);
  });
}
