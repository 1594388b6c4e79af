// The room: its settings (pre-moderation, slow mode, lock) and its status (open, closed),
// as the events say, and the console's controls that change them.

import { $, root } from "./page.js";
import { ask } from "./dialog.js";
import { act } from "./socket.js";
import { announce, consoleBox, say, t } from "./util.js";

function settingsLine(d) {
  return [
    d.locked ? t("floor_locked") : "",
    d.premoderation ? t("premoderated") : "",
    d.slow_mode_seconds ? t("slow_mode_on", { seconds: d.slow_mode_seconds }) : "",
  ].filter(Boolean).join(" · ");
}

export function showSettings(d) {
  say($("room-settings"), settingsLine(d));
  root.dataset.locked = d.locked;
  const premod = $("set-premoderation");
  if (premod) premod.checked = d.premoderation;
  const slow = $("slow-seconds");
  if (slow && document.activeElement !== slow) slow.value = d.slow_mode_seconds;
  const lock = $("lock-button");
  if (lock) {
    lock.textContent = d.locked ? t("unlock") : t("lock");
    lock.setAttribute("aria-pressed", String(d.locked));
  }
}

export function showStatus(status) {
  root.dataset.status = status;
  say($("room-status"), t(`status_${status}`));
  const closed = status === "closed";
  $("post-button")?.toggleAttribute("disabled", closed);
  const close = $("close-button");
  if (close) close.textContent = closed ? t("reopen_room") : t("close_room");
}

export function setupRoomControls() {
  const box = consoleBox("settings");
  $("set-premoderation")?.addEventListener("change", (ev) => {
    const on = ev.target.checked;
    act({ type: "room", action: "premoderation", on }, {
      ...box, ok: on ? t("premoderation_on_done") : t("premoderation_off_done"),
      failed: () => { ev.target.checked = !on; },  // the box shows the room as it is
    });
  });
  $("slow-form")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("slow-seconds");
    const seconds = Number(input.value);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) {
      input.setAttribute("aria-invalid", "true");
      announce($("settings-error"), t("seconds_range"));
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    act({ type: "room", action: "slow_mode", seconds },
      { ...box, ok: seconds ? t("slow_mode_done", { seconds }) : t("slow_mode_off_done") });
  });
  $("lock-button")?.addEventListener("click", () => {
    const locking = root.dataset.locked !== "true";
    act({ type: "room", action: locking ? "lock" : "unlock" },
      { ...box, ok: locking ? t("locked_done") : t("unlocked_done") });
  });
  $("close-button")?.addEventListener("click", async () => {
    const closing = root.dataset.status !== "closed";
    const answer = await ask({
      title: closing ? t("close_title") : t("reopen_title"),
      text: closing ? t("close_text") : t("reopen_text"),
      confirm: closing ? t("close_room") : t("reopen_room"),
    });
    if (!answer) return;
    act({ type: "room", action: closing ? "close" : "reopen" },
      { ...box, ok: closing ? t("closed_done") : t("reopened_done") });
  });
}
