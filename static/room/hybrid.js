// Hybrid rooms, in the console: raise a hand for a delegate in the meeting room (their
// request shows "raised by the chair"), and record that one spoke, with a short note that
// goes into the stream and the minutes under the delegate's label.

import { $ } from "./page.js";
import { act } from "./socket.js";
import { announce, consoleBox, t } from "./util.js";

const box = () => consoleBox("hybrid");

function chosen() {
  const select = $("proxy-seat");
  return { seat: select.value, label: select.selectedOptions[0]?.textContent || "" };
}

export function setupHybrid() {
  if (!$("proxy-form")) return;
  $("proxy-raise").addEventListener("click", () => {
    const { seat, label } = chosen();
    act({ type: "hand", action: "raise", seat, kind: $("proxy-kind").value },
      { ...box(), ok: t("proxy_raised_done", { label }) });
  });
  $("proxy-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const note = $("proxy-note");
    if (!note.value.trim()) {
      note.setAttribute("aria-invalid", "true");
      announce($("hybrid-error"), t("note_required"));
      note.focus();
      return;
    }
    note.removeAttribute("aria-invalid");
    const { seat, label } = chosen();
    act({ type: "floor", action: "spoke", seat, note: note.value },
      { ...box(), ok: t("spoke_recorded_done", { label }), done: () => { note.value = ""; } });
  });
}
