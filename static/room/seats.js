// The moderators' console: a seat (mute, unmute, remove, reveal). A seat is chosen with
// "Seat" on an intervention or a request for the floor; this page knows it only by the
// handle the server gives moderators, and who is behind it only through a reveal, which
// asks for a reason and is audited.

import { $, LANG, sectorNames } from "./page.js";
import { act } from "./socket.js";
import { announce, button, el, keepFocus, say, showEmpty, t, who } from "./util.js";

let chosenSeat = null;  // {seat, label}

export function chooseSeat(seat, label) {
  chosenSeat = { seat, label };
  say($("seat-chosen"), t("seat_chosen", { label }));
  $("seat-actions").hidden = false;
  $("revealed").hidden = true;
  $("revealed").replaceChildren();
  for (const id of ["mute-error", "remove-error", "reveal-error", "seat-status"]) say($(id), "");
  const heading = $("seat-title");
  heading.scrollIntoView({ block: "nearest" });
  heading.focus();
}

function seatAct(action, extra, { error, ok, done }) {
  if (!chosenSeat) return;
  act({ type: "seat", action, seat: chosenSeat.seat, ...extra },
    { status: $("seat-status"), error, ok, done });
}

export function setupSeatPanel() {
  if (!$("seat-panel")) return;
  $("mute-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("mute-minutes");
    const minutes = Number(input.value);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      input.setAttribute("aria-invalid", "true");
      announce($("mute-error"), t("minutes_range"));
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    const label = chosenSeat.label;
    seatAct("mute", { minutes }, { error: $("mute-error"), ok: t("muted_done", { label, minutes }) });
  });
  $("unmute-button").addEventListener("click", () => {
    const label = chosenSeat.label;
    seatAct("unmute", {}, { error: $("mute-error"), ok: t("unmuted_done", { label }) });
  });
  reasonForm("remove", (reason, clear) => seatAct("remove", { reason }, {
    error: $("remove-error"), ok: t("removed_done", { label: chosenSeat.label }), done: clear,
  }));
  reasonForm("reveal", (reason, clear) => seatAct("reveal", { reason }, {
    error: $("reveal-error"),
    done: (answer) => { clear(); showRevealed(answer.identity); },
  }));
}

/** A form with one reason field (5 characters at least), its error tied to the field;
 *  the reason stays in the field until the server has accepted the action. */
function reasonForm(name, submit) {
  $(`${name}-form`).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $(`${name}-reason`);
    if (input.value.trim().length < 5) {
      input.setAttribute("aria-invalid", "true");
      announce($(`${name}-error`), t("reason_too_short", { min: 5 }));
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    submit(input.value.trim(), () => { input.value = ""; });
  });
}

// The identity goes to this page alone, in the console, never into the stream.
function showRevealed(identity) {
  const box = $("revealed");
  const rows = [
    ["identity_name", identity.name], ["identity_email", identity.email],
    ["identity_organization", identity.organization || "—"],
    ["identity_sector", sectorNames[identity.sector] || identity.sector || "—"],
    ["identity_role", identity.role],
  ];
  // Erased (retention, or at the person's request): sector and role are all there is.
  const shown = identity.erased ? rows.filter(([key]) => ["identity_sector", "identity_role"].includes(key)) : rows;
  const list = el("dl");
  for (const [key, value] of shown) list.append(el("dt", { text: t(key) }), el("dd", { text: value }));
  const erased = identity.erased
    ? [el("p", { text: t("identity_erased", { date: identity.erased.slice(0, 10) }) })] : [];
  box.replaceChildren(
    el("p", { text: t("revealed_intro") }), ...erased, list,
    button(t("forget_identity"), () => {
      box.replaceChildren();
      box.hidden = true;
      $("seat-title").focus();
    }),
  );
  box.hidden = false;
  announce($("seat-status"), t("revealed_done"));
}

const muted = new Map();  // seat handle -> {label, until}

export function showSeatEvent(kind, d) {
  const label = who(d.attribution);
  if (kind === "seat.muted") muted.set(d.seat, { label, until: d.until });
  if (kind === "seat.unmuted" || kind === "seat.removed") muted.delete(d.seat);
  const list = $("muted");
  if (list) {
    keepFocus(list, () => {
      // A mute ends by itself at `until` (no event says so): list the running ones.
      const running = [...muted].filter(([, m]) => Date.parse(m.until) > Date.now());
      list.replaceChildren(...running.map(([seat, m]) => el("li", {},
        t("muted_until", { label: m.label, time: new Date(m.until).toLocaleTimeString(LANG) }), " ",
        button(t("unmute"), () => act({ type: "seat", action: "unmute", seat },
          { status: $("seat-status"), error: $("mute-error"),
            ok: t("unmuted_done", { label: m.label }) }),
        { label: t("unmute_label", { label: m.label }), key: `unmute-${seat}` }))));
    });
    showEmpty("muted");
  }
  const log = $("seat-log");
  if (log) {
    const text = {
      "seat.muted": "seat_muted_log", "seat.unmuted": "seat_unmuted_log",
      "seat.removed": "seat_removed_log", "seat.revealed": "seat_revealed_log",
    }[kind];
    log.prepend(el("li", { text: t(text, { label, by: d.by || "" }) }));
    while (log.childElementCount > 20) log.lastElementChild.remove();
  }
}
