// The floor: the server's queue and speaker; the countdown runs on the server's deadline.
// A delegate raises and lowers a hand; the chair and moderators give the floor, reorder
// the queue (with a reason) and set the mode.

import { $, moderates, root, sectorNames, slug } from "./page.js";
import { banner } from "./alerts.js";
import { ask } from "./dialog.js";
import { chooseSeat } from "./seats.js";
import { act } from "./socket.js";
import {
  announce, button, clock, consoleBox, el, keepFocus, say, showEmpty, t, who,
} from "./util.js";

let countdown = null;
let currentSpeaker = "";   // the request holding the floor, as this page last saw it
let myRequest = "";        // this delegate's raised hand, once the server confirmed it
// The request id is the only way this page knows which hand is its own (the queue shows
// labels, which may be shared): kept for the tab's session so a reload still knows.
const HAND = `roundtables:hand:${slug}`;
try { myRequest = sessionStorage.getItem(HAND) || ""; } catch { /* storage refused */ }
let lastQueue = [];        // the waiting requests, as the last floor event gave them
let clockOffset = 0;       // server clock minus this computer's clock, in ms
let floorMode = { floor_mode: root.dataset.floorMode, turn_seconds: Number(root.dataset.turnSeconds) };

export function setClockOffset(offset) {
  clockOffset = offset;
}

function kindSuffix(kind) {
  return kind === "point_of_order" ? t("kind_point_of_order") : kind === "reply" ? t("kind_reply") : "";
}

function requestText(r) {
  const kind = kindSuffix(r.kind);
  let text = kind ? t("request_with_kind", { label: who(r.attribution), kind }) : who(r.attribution);
  // A hand the chair raised for a delegate in the meeting room says so, to everyone.
  if (r.by_chair) text = t("request_by_chair", { request: text });
  return r.request === myRequest ? t("request_yours", { request: text }) : text;
}

export function showFloorMode() {
  const key = floorMode.floor_mode === "queued" ? "floor_mode_queued" : "floor_mode_open";
  say($("floor-mode"), t(key, { time: clock(floorMode.turn_seconds) }));
  const select = $("floor-mode-select");
  if (select && document.activeElement !== select) select.value = floorMode.floor_mode;
  const turn = $("turn-seconds");
  if (turn && document.activeElement !== turn) turn.value = floorMode.turn_seconds;
}

export function showFloor(kind, d, live) {
  if (kind === "floor.mode_changed") {
    floorMode = { floor_mode: d.floor_mode, turn_seconds: d.turn_seconds };
    showFloorMode();
  }
  const before = currentSpeaker;
  currentSpeaker = d.speaker ? d.speaker.request : "";
  lastQueue = d.queue;
  // History replays through states before the hand went up: only a live event says it is down.
  const waiting = d.queue.some((r) => r.request === myRequest);
  if (live && myRequest && myRequest !== currentSpeaker && !waiting) {
    rememberHand("");  // lowered, removed, or the turn is over
  }
  drawQueue();
  const count = d.queue.length ? t("waiting_count", { count: d.queue.length }) : t("nobody_waiting");
  say($("queue-empty-text"), count);
  if (moderates) showConsoleQueue(d.queue);
  showHandState();
  if (kind === "floor.given" && live && d.speaker) {
    clockOffset = Date.parse(d.speaker.started_at) - Date.now();
  }
  showSpeaker(d.speaker);
  if (!live) return;
  const live_ = $("floor-live");
  if (kind === "floor.given" && d.speaker) {
    const { attribution, limit_seconds: limit } = d.speaker;
    announce(live_, t("floor_given", { label: who(attribution), time: clock(limit) }));
    if (d.speaker.request === myRequest) banner(t("you_have_floor_banner", { time: clock(limit) }));
  } else if (kind === "floor.turn_ended" && before) {
    announce(live_, t("turn_ended", { time: clock(d.seconds) }));
  } else if (kind === "floor.hand_raised" || kind === "floor.hand_lowered") {
    announce(live_, count);
  } else if (kind === "floor.mode_changed") {
    announce(live_, $("floor-mode").textContent);
  }
}

function drawQueue() {
  const queue = $("queue");
  if (queue) queue.replaceChildren(...lastQueue.map((r) => el("li", { text: requestText(r) })));
}

function showSpeaker(speaker) {
  const box = $("speaker");
  const wrap = $("countdown-wrap");
  const timer = $("countdown");
  clearInterval(countdown);
  const yieldButton = $("floor-yield");
  if (!speaker) {
    box.textContent = t("nobody_has_floor");
    wrap.hidden = true;
    if (yieldButton) yieldButton.hidden = true;
    return;
  }
  const mine = speaker.request === myRequest;
  box.textContent = mine ? t("you_have_floor") : t("has_floor", { label: who(speaker.attribution) });
  if (yieldButton) yieldButton.hidden = !mine;
  const ends = Date.parse(speaker.ends_at);
  const limit = speaker.limit_seconds;
  let warned = (ends - (Date.now() + clockOffset)) / 1000 <= 30;  // no warning if it starts late
  let over = false;
  wrap.hidden = false;
  const tick = () => {
    const left = Math.min(limit, Math.max(0, (ends - (Date.now() + clockOffset)) / 1000));
    timer.textContent = clock(Math.ceil(left));
    wrap.classList.toggle("ending", left <= 30);
    say($("countdown-note"), left <= 0 ? t("time_up_short") : left <= 30 ? t("ending_soon") : "");
    if (!warned && left <= 30) {
      warned = true;
      announce($("floor-live"), t("thirty_seconds_left", { label: who(speaker.attribution) }));
    }
    if (!over && left <= 0) {
      over = true;
      clearInterval(countdown);
      announce($("floor-live"), t("time_is_up", { label: who(speaker.attribution) }));
    }
  };
  tick();
  countdown = setInterval(tick, 250);
}

function rememberHand(request) {
  myRequest = request;
  try {
    if (request) sessionStorage.setItem(HAND, request); else sessionStorage.removeItem(HAND);
  } catch { /* storage refused: this page load only */ }
}

function showHandState() {
  if (!$("hand-raise")) return;
  // Buttons stay enabled (a disabled button drops keyboard focus); the server refuses a
  // second raise with a sentence saying what to do.
  const up = Boolean(myRequest) && lastQueue.some((r) => r.request === myRequest);
  say($("hand-state"), up ? t("hand_is_up") : "");
}

function showConsoleQueue(queue) {
  const list = $("console-queue");
  if (!list) return;
  keepFocus(list, () => {
    list.replaceChildren(...queue.map((r, i) => {
      const label = who(r.attribution);
      const kind = kindSuffix(r.kind);
      const sector = r.sector ? sectorNames[r.sector] || r.sector : "";
      const li = el("li", { cls: "console-item" },
        el("p", {}, el("strong", { text: label }), kind ? ` · ${kind}` : "",
          r.by_chair ? ` · ${t("raised_by_chair")}` : "",
          sector && !label.startsWith(sector) ? ` · ${sector}` : ""));
      const actions = el("p", { cls: "actions" });
      actions.append(button(i === 0 ? t("give_floor") : t("give_out_of_order"), () => giveFloor(r, i),
        { label: t("give_floor_label", { label }), key: `give-${r.request}` }));
      if (i > 0) {
        actions.append(button(t("move_up"), () => moveRequest(r, i, "up"),
          { label: t("move_up_label", { label }), key: `up-${r.request}` }));
      }
      if (i < queue.length - 1) {
        actions.append(button(t("move_down"), () => moveRequest(r, i + 2, "down"),
          { label: t("move_down_label", { label }), key: `down-${r.request}` }));
      }
      actions.append(button(t("remove_request"), () => removeRequest(r),
        { label: t("remove_request_label", { label }), key: `remove-${r.request}` }));
      if (r.author) {
        actions.append(button(t("seat_button"), () => chooseSeat(r.author, label),
          { label: t("seat_label", { label }), key: `seat-${r.request}` }));
      }
      li.append(actions);
      return li;
    }));
  });
  showEmpty("console-queue");
}

const floorBox = () => consoleBox("floor");

async function giveFloor(r, index) {
  if (index === 0) {
    act({ type: "floor", action: "give", request: r.request, expected_speaker: currentSpeaker },
      { ...floorBox(), ok: t("floor_given_done", { label: who(r.attribution) }) });
    return;
  }
  const answer = await ask({
    title: t("give_out_of_order_title", { label: who(r.attribution) }),
    text: t("override_text"), reasonLabel: t("override_reason"), confirm: t("give_floor"),
  });
  if (!answer) return;
  act({
    type: "floor", action: "give", request: r.request, reason: answer.reason,
    expected_speaker: currentSpeaker,
  },
    { ...floorBox(), ok: t("floor_given_done", { label: who(r.attribution) }) });
}

async function moveRequest(r, position, direction) {
  const answer = await ask({
    title: t(direction === "up" ? "move_up_title" : "move_down_title", { label: who(r.attribution) }),
    text: t("override_text"), reasonLabel: t("override_reason"),
    confirm: t(direction === "up" ? "move_up" : "move_down"),
  });
  if (!answer) return;
  act({ type: "floor", action: "move", request: r.request, position, reason: answer.reason },
    { ...floorBox(), ok: t("moved_done", { label: who(r.attribution), position }) });
}

async function removeRequest(r) {
  const answer = await ask({
    title: t("remove_request_title", { label: who(r.attribution) }),
    text: t("override_text"), reasonLabel: t("override_reason"), confirm: t("remove_request"),
  });
  if (!answer) return;
  act({ type: "floor", action: "remove", request: r.request, reason: answer.reason },
    { ...floorBox(), ok: t("request_removed_done", { label: who(r.attribution) }) });
}

export function setupFloorControls() {
  const raise = $("hand-raise");
  if (raise) {
    const box = { status: $("hand-status"), error: $("hand-error") };
    raise.addEventListener("click", () => {
      const kind = $("hand-kind").value;
      act({ type: "hand", action: "raise", kind }, {
        ...box, ok: t("hand_raised_done"),
        done: (answer) => { rememberHand(answer.request); drawQueue(); showHandState(); },
      });
    });
    $("hand-lower").addEventListener("click", () => act({ type: "hand", action: "lower" }, {
      ...box, ok: t("hand_lowered_done"),
      done: () => { rememberHand(""); drawQueue(); showHandState(); },
    }));
    $("floor-yield")?.addEventListener("click", () => act({ type: "floor", action: "end" },
      { ...box, ok: t("yielded_done") }));
  }
  // expected_speaker: if another moderator changed the floor a moment ago, the server
  // refuses (floor_taken) instead of giving two turns in a row.
  $("floor-next")?.addEventListener("click", () =>
    act({ type: "floor", action: "next", expected_speaker: currentSpeaker }, floorBox()));
  $("floor-end")?.addEventListener("click", () =>
    act({ type: "floor", action: "end" }, { ...floorBox(), ok: t("turn_ended_done") }));
  $("floor-mode-form")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("turn-seconds");
    const seconds = Number(input.value);
    if (!Number.isInteger(seconds) || seconds < 30 || seconds > 3600) {
      input.setAttribute("aria-invalid", "true");
      announce($("floor-error"), t("turn_seconds_range"));
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    const mode = $("floor-mode-select").value;
    act({ type: "floor", action: "mode", floor_mode: mode, turn_seconds: seconds },
      { ...floorBox(), ok: t("floor_mode_done") });
  });
}
