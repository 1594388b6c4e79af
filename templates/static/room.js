// The live room: one websocket, gapless by seq, reconnecting with ?after=<last seq>.
// Events are rendered by the server (body_html is sanitised there); this module only
// places them. Every word shown comes from the page's translated `ui-strings`.
// No build step.

const root = document.getElementById("room");
const slug = root.dataset.slug;
const role = root.dataset.role;
const S = JSON.parse(document.getElementById("ui-strings").textContent);
const sectorNames = JSON.parse(document.getElementById("sector-names").textContent);
const $ = (id) => document.getElementById(id);
// Times in the page's language (the switcher's), not the browser's.
const LANG = document.documentElement.lang || undefined;

// Delegates and the rapporteur may flag an intervention for the moderators.
const canFlag = ["delegate", "rapporteur"].includes(role);
const moderates = root.dataset.audience === "moderators";
const isDelegate = role === "delegate";

const stream = $("stream");
const streamLog = $("stream-log");
const conn = $("conn");
const form = $("post-form");
const bodyInput = $("post-body");
const postStatus = $("post-status");
const postError = $("post-error");
const consentBox = $("consent-box");
const consentDone = $("consent-done");
const held = $("held");

/** Who spoke, in the reader's language: stored labels are English; a name stays a name
 * (moderation/attribution.py: in_reader_language words them the same way). */
function who(a) {
  if (a.kind === "function" && S[`role_${a.function}`]) return t(`role_${a.function}`);
  if (a.kind === "pseudonym" && a.sector) {
    const sector = sectorNames[a.sector] || a.label.split(" · ")[0];
    return t("pseudonym", { sector, number: a.number });
  }
  if (a.kind === "anonymous") return t("anonymous");
  return a.label;
}

/** A translated string with its %(name)s placeholders filled in. */
function t(key, vars = {}) {
  const text = S[key] ?? key;
  // Python's %-format syntax, so the catalogues read like every other message ("%%" is "%").
  return text.replace(/%\((\w+)\)s|%%/g, (match, name) => (name ? String(vars[name] ?? "") : "%"));
}

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function el(tag, { cls, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** A real button; `label` adds context for screen readers and starts with the visible text. */
function button(text, onClick, { label, cls, key } = {}) {
  const b = el("button", { cls, text, attrs: { type: "button" } });
  if (label) b.setAttribute("aria-label", label);
  if (key) b.dataset.key = key;
  b.addEventListener("click", onClick);
  return b;
}

function say(node, text) {
  if (node) node.textContent = text || "";
}

// A live region repeats a message only if its text changes: clear it first.
function announce(node, text) {
  if (!node) return;
  node.textContent = "";
  setTimeout(() => { node.textContent = text; }, 60);
}

function alertRoom(text) {
  announce($("room-alert"), text);
}

/** Redraw `container` with `render()`, putting keyboard focus back where it was. */
function keepFocus(container, render) {
  const active = document.activeElement;
  const inside = container && active && container.contains(active);
  const key = inside ? active.dataset.key : null;
  render();
  if (!inside) return;
  const again = key && container.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (again && !again.disabled) again.focus();
  else container.closest("section")?.querySelector("h2, h3")?.focus();
}

// -- the dialog: a reason (and, for a redaction, the new text), instead of prompt() ----------

const dialog = $("ask");
let dialogOpener = null;
let dialogAnswer = null;

/** Ask in the modal dialog; resolves to {reason, body} or null if cancelled.
 *  `reasonLabel: null` asks for a confirmation only. */
function ask({
  title, text = "", reasonLabel = null, minLength = 5, body = null, bodyLabel = "", confirm,
}) {
  if (dialogAnswer) closeDialog(null);
  dialogOpener = document.activeElement;
  say($("ask-title"), title);
  say($("ask-text"), text);
  $("ask-text").hidden = !text;
  const reason = $("ask-reason");
  $("ask-reason-field").hidden = reasonLabel === null;
  say($("ask-reason-label"), reasonLabel || "");
  reason.value = "";
  reason.dataset.min = String(reasonLabel === null ? 0 : minLength);
  reason.removeAttribute("aria-invalid");
  say($("ask-reason-error"), "");
  $("ask-body-field").hidden = body === null;
  $("ask-body").value = body ?? "";
  say($("ask-body-label"), bodyLabel);
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

if (dialog) {
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
    const body = $("ask-body-field").hidden ? null : $("ask-body").value.trim() || null;
    closeDialog({ reason: value, body });
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

// -- the socket ---------------------------------------------------------------------------

let socket = null;
let lastSeq = 0;        // highest seq placed on the page
let liveFrom = 0;       // events up to this seq are history (a replay): no announcements
let resuming = false;   // a resume is in flight: out-of-order frames wait for the replay
let retry = 0;
const pending = new Map();  // client_id -> {body, kind}, until acknowledged (resent on reconnect)
const answers = new Map();  // ref -> {done(frame), error(frame)} for frames that carry a ref
let refCount = 0;

function uuid4() {
  // crypto.randomUUID needs a secure context; getRandomValues does not.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function setConn(state, text) {
  conn.dataset.state = state;
  conn.textContent = text;
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

/**
 * Send a frame that takes a `ref`; the answer or the refusal comes back to this call.
 * `status` / `error`: the live regions near the control; `ok`: what to say when done.
 */
function act(frame, { status, error, ok, done, failed } = {}) {
  refCount += 1;
  const ref = `r${refCount}`;
  say(error, "");
  if (!send({ ...frame, ref })) {
    const text = t("offline_try_again");
    if (error) announce(error, text); else alertRoom(text);
    if (failed) failed(null);
    return;
  }
  answers.set(ref, {
    done: (answer) => {
      if (ok) announce(status, ok);
      if (done) done(answer);
    },
    error: (answer) => {
      const text = answer.message || t("refused");
      if (error) announce(error, text); else alertRoom(text);
      if (failed) failed(answer);
    },
  });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/rooms/${slug}/?after=${lastSeq}`);
  setConn("connecting", retry ? t("reconnecting") : t("connecting"));
  socket.addEventListener("message", (msg) => handle(JSON.parse(msg.data)));
  socket.addEventListener("close", (ev) => {
    answers.clear();  // answers to frames of a closed socket never come
    if (ev.code >= 4400 && ev.code < 4500) {
      setConn("refused", t("refused_connection"));
      return;
    }
    retry += 1;
    const delay = Math.min(10000, 500 * 2 ** Math.min(retry, 5)) * (0.5 + Math.random() / 2);
    setConn("offline", t("offline_reconnecting", { seconds: Math.round(delay / 1000) }));
    setTimeout(connect, delay);
  });
}

function caughtUp() {
  // While history replays, the log stays quiet; live events are announced.
  if (lastSeq >= liveFrom) streamLog.setAttribute("aria-live", "polite");
}

function handle(frame) {
  switch (frame.type) {
    case "welcome":
      retry = 0;
      resuming = false;
      liveFrom = frame.last_seq;
      if (lastSeq < liveFrom) streamLog.setAttribute("aria-live", "off");
      caughtUp();
      setConn("online", t("connected"));
      $("you-label").textContent = frame.you.attribution;
      if (consentBox) consentBox.hidden = frame.you.consented;
      for (const [clientId, p] of pending) send({ type: "post", client_id: clientId, ...p });
      break;
    case "event":
      if (frame.seq <= lastSeq) return;             // already placed
      if (frame.seq > lastSeq + 1) {                // a gap means loss: ask for it again
        if (!resuming) {
          resuming = true;
          send({ type: "resume", after: lastSeq });
        }
        return;
      }
      resuming = false;
      lastSeq = frame.seq;
      place(frame, frame.seq > liveFrom);
      caughtUp();
      break;
    case "ack":
      if (pending.delete(frame.client_id)) {
        say(postError, "");
        say(postStatus, frame.held ? t("held_for_moderator", { reason: frame.reason }) : t("posted"));
      }
      break;
    case "notice":
      say(postStatus, frame.message);
      break;
    case "done":
    case "flagged":
    case "revealed": {
      const answer = answers.get(frame.ref);
      answers.delete(frame.ref);
      if (answer) answer.done(frame);
      break;
    }
    case "consented":
      consentGiven();
      break;
    case "presence":
      showPresence(frame);
      break;
    case "error":
      refused(frame);
      break;
    default:
      break;
  }
}

function refused(frame) {
  const answer = frame.ref && answers.get(frame.ref);
  if (answer) {
    answers.delete(frame.ref);
    answer.error(frame);
    return;
  }
  if (frame.client_id && pending.has(frame.client_id)) {
    // A refused post goes back into the box: nothing the delegate typed is lost.
    const p = pending.get(frame.client_id);
    if (!bodyInput.value.trim()) bodyInput.value = p.body;
    pending.delete(frame.client_id);
    if (frame.code === "consent_required" && consentBox) consentBox.hidden = false;
    say(postStatus, "");
    announce(postError, frame.message || t("post_refused"));
    return;
  }
  alertRoom(frame.message || t("refused"));
}

function place(frame, live) {
  const d = frame.data;
  switch (frame.kind) {
    case "intervention.held":
      if (held) {
        removeHeld(d.id);
        held.append(renderHeld(frame.seq, d));
        showEmpty("held");
      }
      break;
    case "intervention.rejected":
      removeHeld(d.id);
      break;
    case "intervention.flagged":
      showFlag(d);
      break;
    case "intervention.posted":
    case "intervention.restored":
      showIntervention(frame.seq, d);
      break;
    case "intervention.hidden":
      hideIntervention(d);
      break;
    case "intervention.redacted":
      redactIntervention(d);
      break;
    case "seat.muted":
    case "seat.unmuted":
    case "seat.removed":
    case "seat.revealed":
      showSeatEvent(frame.kind, d);
      break;
    case "agenda.current_changed":
      for (const li of document.querySelectorAll("#agenda li")) {
        const current = li.dataset.item === d.agenda_item;
        li.classList.toggle("current", current);
        if (current) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
      }
      if (live) announce($("floor-live"), t("agenda_now", { title: d.title }));
      break;
    case "floor.hand_raised":
    case "floor.hand_lowered":
    case "floor.given":
    case "floor.turn_ended":
    case "floor.request_moved":
    case "floor.request_removed":
    case "floor.mode_changed":
      showFloor(frame.kind, d, live);
      refreshParity();
      break;
    case "consensus.opened":
    case "consensus.voted":
    case "consensus.closed":
      showCheck(frame.kind, d);
      break;
    case "recommendation.saved":
    case "recommendation.deleted":
      showRecommendation(frame.kind, d);
      break;
    case "room.settings_changed":
      showSettings(d);
      break;
    case "room.status_changed":
      showStatus(d.status);
      break;
    case "minutes.saved":
    case "minutes.review_opened":
    case "minutes.review_closed":
    case "minutes.adoption_requested":
    case "minutes.adopted":
      say($("minutes-status"), t(frame.kind, { version: d.version }));
      break;
    default:
      break;  // redacted stubs and kinds this page does not show
  }
}

// -- interventions --------------------------------------------------------------------------

const known = new Map();  // id -> the latest data of an intervention (moderators act on it)
const KIND_LABELS = {
  question: "kind_question", reply: "kind_reply", point_of_order: "kind_point_of_order",
};

function findIntervention(id) {
  return [...stream.children].find((li) => li.dataset.id === id) || null;
}

function excerpt(d, length = 140) {
  const text = new DOMParser().parseFromString(d.body_html, "text/html").body.textContent.trim();
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

function redactionNote(reason) {
  return el("p", { cls: "redaction muted", text: t("redacted_by_moderator", { reason }) });
}

function showIntervention(seq, d) {
  known.set(d.id, d);
  removeHeld(d.id);
  removeHidden(d.id);
  refreshParity();
  const existing = findIntervention(d.id);
  const li = renderIntervention(seq, d);
  if (existing) {
    existing.replaceWith(li);
    return;
  }
  // Follow the stream only if its reader was at the bottom; never scroll the window.
  const atBottom = streamLog.scrollHeight - streamLog.scrollTop - streamLog.clientHeight < 40;
  stream.append(li);
  showEmpty("stream");
  if (atBottom) streamLog.scrollTop = streamLog.scrollHeight;
}

function hideIntervention(d) {
  findIntervention(d.id)?.remove();
  showEmpty("stream");
  if (moderates) {
    showHidden(d.id, d.reason);
    markFlag(d.id, true);
  }
}

function redactIntervention(d) {
  const li = findIntervention(d.id);
  if (li) {
    li.querySelector(".body").innerHTML = d.body_html;  // sanitised by the server
    li.querySelector(".redaction")?.remove();
    li.append(redactionNote(d.reason));
  }
  const data = known.get(d.id);
  if (data) known.set(d.id, { ...data, body_html: d.body_html, redaction: { reason: d.reason } });
}

function renderIntervention(seq, d, { inStream = true } = {}) {
  const li = el("li", { cls: `intervention kind-${d.kind}` });
  li.dataset.seq = seq;
  li.dataset.id = d.id;
  const label = who(d.attribution);
  const when = el("time", { text: new Date(d.created_at).toLocaleTimeString(LANG) });
  when.dateTime = d.created_at;
  const head = el("p", { cls: "attribution" }, el("strong", { text: label }), " · ", when);
  if (KIND_LABELS[d.kind]) head.append(" · ", el("span", { cls: "kind", text: t(KIND_LABELS[d.kind]) }));
  const actions = el("span", { cls: "item-actions" });
  if (moderates && inStream) {
    actions.append(
      button(t("hide"), () => hideAsk(d.id), { label: t("hide_label", { label }) }),
      button(t("redact"), () => redactAsk(d.id, li), { label: t("redact_label", { label }) }),
    );
  }
  if (moderates && d.author) {
    actions.append(button(t("seat_button"), () => chooseSeat(d.author, label),
      { label: t("seat_label", { label }) }));
  }
  if (canFlag && inStream) {
    actions.append(button(t("flag"), () => flagAsk(d.id),
      { cls: "flag", label: t("flag_label", { label }) }));
  }
  if (actions.childElementCount) head.append(" ", actions);
  const body = el("div", { cls: "body" });
  body.innerHTML = d.body_html;  // sanitised by the server (moderation/sanitize.py)
  li.append(head, body);
  if (d.redaction) li.append(redactionNote(d.redaction.reason));
  return li;
}

async function flagAsk(id) {
  const answer = await ask({
    title: t("flag_title"), reasonLabel: t("flag_reason"), confirm: t("flag_confirm"),
  });
  if (!answer) return;
  act({ type: "flag", id, reason: answer.reason },
    { status: postStatus, error: $("room-alert"), ok: t("flag_thanks") });
}

// -- the moderators' console: held, flags, hidden -----------------------------------------

function moderate(action, id, extra, box) {
  act({ type: "moderate", action, id, ...extra }, box);
}

function consoleBox(name, ok) {
  return { status: $(`${name}-status`), error: $(`${name}-error`), ok };
}

function showEmpty(listId) {
  const list = $(listId);
  const empty = $(`${listId}-empty`);
  if (list && empty) empty.hidden = list.childElementCount > 0;
}

function removeHeld(id) {
  if (!held) return;
  for (const li of [...held.children]) if (li.dataset.id === id) li.remove();
  showEmpty("held");
}

async function hideAsk(id) {
  const answer = await ask({
    title: t("hide_title"), reasonLabel: t("hide_reason"), confirm: t("hide_confirm"),
  });
  if (answer) moderate("hide", id, { reason: answer.reason }, consoleBox("held", t("hidden_done")));
}

async function redactAsk(id, li, { release = false } = {}) {
  const answer = await ask({
    title: release ? t("publish_redacted_title") : t("redact_title"),
    text: t("redact_text"),
    reasonLabel: t("redact_reason"),
    body: li.querySelector(".body").innerText.trim(),
    bodyLabel: t("redact_body"),
    confirm: release ? t("publish_redacted") : t("redact_confirm"),
  });
  if (!answer) return;
  const extra = answer.body ? { reason: answer.reason, body: answer.body } : { reason: answer.reason };
  moderate("redact", id, extra, consoleBox("held", t("redacted_done")));
}

// A held intervention, for the chair and moderators: publish, publish redacted, or decline.
function renderHeld(seq, d) {
  known.set(d.id, d);
  const li = renderIntervention(seq, d, { inStream: false });
  const label = who(d.attribution);
  li.append(
    el("p", { cls: "muted", text: t("held_why", { reason: d.reason }) }),
    el("p", { cls: "actions" },
      button(t("publish"), () => moderate("approve", d.id, {}, consoleBox("held", t("published_done"))),
        { label: t("publish_label", { label }), key: `approve-${d.id}` }),
      button(t("publish_redacted"), () => redactAsk(d.id, li, { release: true }),
        { label: t("publish_redacted_label", { label }), key: `redact-${d.id}` }),
      button(t("decline"), async () => {
        const answer = await ask({
          title: t("decline_title"), reasonLabel: t("decline_reason"), confirm: t("decline_confirm"),
        });
        if (!answer) return;
        moderate("reject", d.id, { reason: answer.reason }, consoleBox("held", t("declined_done")));
      }, { label: t("decline_label", { label }), key: `reject-${d.id}` }),
    ),
  );
  return li;
}

const flags = new Map();  // id -> {li, reasons, count, hidden}
const DISMISSED = `roundtables:dismissed-flags:${slug}`;

function dismissed() {
  try {
    return new Set(JSON.parse(localStorage.getItem(DISMISSED) || "[]"));
  } catch {
    return new Set();
  }
}

function dismissFlag(id) {
  const entry = flags.get(id);
  if (!entry) return;
  // Dismissing is this console's own bookkeeping: the flags stay on the record.
  try {
    const seen = dismissed();
    seen.add(`${id}:${entry.count}`);
    localStorage.setItem(DISMISSED, JSON.stringify([...seen].slice(-500)));
  } catch { /* private mode: dismissed for this page only */ }
  keepFocus($("flags"), () => {
    entry.li.remove();
    flags.delete(id);
  });
  showEmpty("flags");
  announce($("flags-status"), t("flag_dismissed"));
}

function showFlag(d) {
  const list = $("flags");
  if (!list) return;
  // Hidden on the participants' pages too: the flags are not shown there.
  const stamp = findIntervention(d.id);
  if (stamp) {
    let count = stamp.querySelector(".flag-count");
    if (!count) {
      count = el("span", { cls: "flag-count" });
      stamp.querySelector(".attribution").append(" ", count);
    }
    count.textContent = t("flagged_times", { count: d.flags });
  }
  let entry = flags.get(d.id);
  if (!entry) {
    entry = { li: el("li", { cls: "console-item" }), reasons: [], count: 0, hidden: false };
    entry.li.dataset.id = d.id;
    flags.set(d.id, entry);
  }
  entry.reasons.push(d.reason);
  entry.count = d.flags;
  if (dismissed().has(`${d.id}:${d.flags}`)) {
    entry.li.remove();
    flags.delete(d.id);
    return;
  }
  renderFlag(d.id);
  if (!entry.li.isConnected) list.append(entry.li);
  showEmpty("flags");
}

function renderFlag(id) {
  const entry = flags.get(id);
  const data = known.get(id);
  const label = data ? who(data.attribution) : t("an_intervention");
  const li = entry.li;
  keepFocus(li, () => {
    li.replaceChildren(
      el("p", {}, el("strong", { text: label }), " · ",
        el("span", { text: t("flagged_times", { count: entry.count }) }),
        entry.hidden ? el("span", { cls: "tag", text: ` · ${t("hidden_tag")}` }) : ""),
      el("p", { cls: "excerpt", text: data ? excerpt(data) : "" }),
      el("ul", { cls: "reasons" }, ...entry.reasons.map((r) => el("li", { text: r }))),
      el("p", { cls: "actions" },
        entry.hidden
          ? button(t("restore"), () => moderate("restore", id, {}, consoleBox("flags", t("restored_done"))),
            { label: t("restore_label", { label }), key: `restore-${id}` })
          : button(t("hide"), () => hideAskFrom(id, "flags"),
            { label: t("hide_label", { label }), key: `hide-${id}` }),
        button(t("dismiss"), () => dismissFlag(id),
          { label: t("dismiss_label", { label }), key: `dismiss-${id}` }),
      ),
    );
  });
}

async function hideAskFrom(id, section) {
  const answer = await ask({
    title: t("hide_title"), reasonLabel: t("hide_reason"), confirm: t("hide_confirm"),
  });
  if (answer) moderate("hide", id, { reason: answer.reason }, consoleBox(section, t("hidden_done")));
}

function markFlag(id, hidden) {
  const entry = flags.get(id);
  if (!entry) return;
  entry.hidden = hidden;
  renderFlag(id);
}

function showHidden(id, reason) {
  const list = $("hidden-list");
  if (!list) return;
  removeHidden(id);
  const data = known.get(id);
  const label = data ? who(data.attribution) : t("an_intervention");
  const li = el("li", { cls: "console-item" },
    el("p", {}, el("strong", { text: label })),
    el("p", { cls: "excerpt", text: data ? excerpt(data) : "" }),
    el("p", { cls: "muted", text: t("hidden_why", { reason }) }),
    el("p", { cls: "actions" },
      button(t("restore"), () => moderate("restore", id, {}, consoleBox("hidden", t("restored_done"))),
        { label: t("restore_label", { label }), key: `restore-${id}` })),
  );
  li.dataset.id = id;
  list.append(li);
  showEmpty("hidden-list");
}

function removeHidden(id) {
  const list = $("hidden-list");
  if (!list) return;
  keepFocus(list, () => {
    for (const li of [...list.children]) if (li.dataset.id === id) li.remove();
  });
  showEmpty("hidden-list");
  markFlag(id, false);
}

// -- the moderators' console: a seat (mute, unmute, remove, reveal) ----------------------

let chosenSeat = null;  // {seat, label}

function chooseSeat(seat, label) {
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

function setupSeatPanel() {
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
  const list = el("dl");
  for (const [key, value] of rows) list.append(el("dt", { text: t(key) }), el("dd", { text: value }));
  box.replaceChildren(
    el("p", { text: t("revealed_intro") }), list,
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

function showSeatEvent(kind, d) {
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

// -- the room: settings and status ---------------------------------------------------------

function settingsLine(d) {
  return [
    d.locked ? t("floor_locked") : "",
    d.premoderation ? t("premoderated") : "",
    d.slow_mode_seconds ? t("slow_mode_on", { seconds: d.slow_mode_seconds }) : "",
  ].filter(Boolean).join(" · ");
}

function showSettings(d) {
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

function showStatus(status) {
  root.dataset.status = status;
  say($("room-status"), t(`status_${status}`));
  const closed = status === "closed";
  $("post-button")?.toggleAttribute("disabled", closed);
  const close = $("close-button");
  if (close) close.textContent = closed ? t("reopen_room") : t("close_room");
}

function setupRoomControls() {
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

// -- the floor: the server's queue and speaker; the countdown runs on the server's deadline --

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

function kindSuffix(kind) {
  return kind === "point_of_order" ? t("kind_point_of_order") : kind === "reply" ? t("kind_reply") : "";
}

function requestText(r) {
  const kind = kindSuffix(r.kind);
  const text = kind ? t("request_with_kind", { label: who(r.attribution), kind }) : who(r.attribution);
  return r.request === myRequest ? t("request_yours", { request: text }) : text;
}

function showFloorMode() {
  const key = floorMode.floor_mode === "queued" ? "floor_mode_queued" : "floor_mode_open";
  say($("floor-mode"), t(key, { time: clock(floorMode.turn_seconds) }));
  const select = $("floor-mode-select");
  if (select && document.activeElement !== select) select.value = floorMode.floor_mode;
  const turn = $("turn-seconds");
  if (turn && document.activeElement !== turn) turn.value = floorMode.turn_seconds;
}

function showFloor(kind, d, live) {
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

function setupFloorControls() {
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

// -- consensus checks --------------------------------------------------------------------------

const checks = new Map();  // check id -> {li, options}
const DEFAULT_OPTIONS = { support: "option_support", live: "option_live", object: "option_object" };

function optionLabel(option) {
  // The default scale is ours to translate; custom options are shown as the chair wrote them.
  const key = DEFAULT_OPTIONS[option.key];
  return key && S[key] ? t(key) : option.label;
}

/** 0.625 -> "62.5%", 0.6 -> "60%": as forum/tally.py writes shares in the minutes. */
function percent(share) {
  return `${(share * 100).toFixed(1)}%`.replace(".0%", "%");
}

/** One reason of a result (a code and its figures) in the reader's language. */
function explain(x, labels) {
  return t(`why_${x.code}`, {
    option: labels[x.option] || x.option,
    share: percent(x.share ?? 0),
    support: percent(x.support ?? 0),
    threshold: percent(x.threshold ?? 0),
    sectors: (x.sectors || []).map((slug) => sectorNames[slug] || slug).join(", "),
  });
}

function showCheck(kind, d) {
  const list = $("checks");
  let entry = checks.get(d.check);
  if (!entry) {
    entry = { li: el("li", { cls: "check" }), options: [] };
    entry.li.dataset.check = d.check;
    checks.set(d.check, entry);
    list.append(entry.li);
    showEmpty("checks");
  }
  const li = entry.li;
  if (kind === "consensus.opened") {
    entry.options = d.options;
    const status = el("p", { cls: "check-status muted", text: t("check_open") });
    li.replaceChildren(el("p", { cls: "proposition", text: d.proposition }), status);
    if (isDelegate) {
      const votes = el("div",
        { cls: "votes", attrs: { role: "group", "aria-label": t("your_ballot") } });
      const ballot = el("p", { cls: "ballot muted", attrs: { role: "status" } });
      for (const option of d.options) {
        const vote = { type: "vote", check: d.check, option: option.key };
        const b = button(optionLabel(option), () => act(vote, {
          status: ballot, error: $("room-alert"), ok: t("ballot_recorded"),
          done: () => {
            for (const other of votes.querySelectorAll("button")) {
              other.setAttribute("aria-pressed", String(other === b));
            }
          },
        }));
        b.setAttribute("aria-pressed", "false");
        votes.append(b);
      }
      li.append(votes, ballot);
    }
    if (moderates) {
      const close = { type: "check", action: "close", check: d.check };
      li.append(button(t("close_check"),
        () => act(close, consoleBox("checks-console", t("check_closed_done"))),
        { label: t("close_check_label", { proposition: d.proposition }) }));
    }
  } else if (kind === "consensus.voted") {
    say(li.querySelector(".check-status"), t("check_voters", { count: d.voters }));
  } else {
    li.querySelectorAll(".votes, button").forEach((b) => b.remove());
    li.querySelector(".ballot")?.remove();
    const r = d.result;
    const labels = Object.fromEntries(entry.options.map((o) => [o.key, optionLabel(o)]));
    const shares = Object.entries(r.weighted)
      .map(([k, v]) => t("share", { option: labels[k] || k, percent: Math.round(v * 100) })).join(" · ");
    const status = li.querySelector(".check-status") || li.appendChild(el("p", { cls: "check-status" }));
    status.classList.remove("muted");
    status.replaceChildren(
      el("strong", { text: r.outcome === "consensus" ? t("consensus") : t("no_consensus") }),
      " — ", t("weighted", { shares }),
    );
    const reasons = r.explanations ? r.explanations.map((x) => explain(x, labels)) : (r.reasons || []);
    if (reasons.length) {
      li.append(el("ul", { cls: "reasons" }, ...reasons.map((x) => el("li", { text: x }))));
    }
  }
}

function setupCheckForm() {
  const checkForm = $("check-form");
  if (!checkForm) return;
  checkForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("check-proposition");
    const proposition = input.value.trim();
    if (!proposition) {
      input.setAttribute("aria-invalid", "true");
      announce($("checks-console-error"), t("proposition_required"));
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    act({ type: "check", action: "open", proposition }, {
      ...consoleBox("checks-console", t("check_opened_done")),
      done: () => { input.value = ""; },
    });
  });
}

// -- recommendations -------------------------------------------------------------------------

function showRecommendation(kind, d) {
  const list = $("recommendations");
  let li = [...list.children].find((x) => x.dataset.id === d.id);
  if (kind === "recommendation.deleted") {
    if (li) li.remove();
    showEmpty("recommendations");
    return;
  }
  if (!li) {
    li = el("li", { cls: "check" });
    li.dataset.id = d.id;
    list.append(li);
  }
  const body = el("div", { cls: "body" });
  body.innerHTML = d.text_html;  // sanitised by the server
  const audience = S[`audience_${d.audience}`] ? t(`audience_${d.audience}`) : d.audience;
  li.replaceChildren(el("p", { cls: "muted", text: t("addressed_to", { audience }) }), body);
  showEmpty("recommendations");
}

function setupRecForm() {
  const recForm = $("rec-form");
  if (!recForm) return;
  recForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("rec-text");
    if (!text.value.trim()) {
      text.setAttribute("aria-invalid", "true");
      announce($("rec-error"), t("recommendation_required"));
      text.focus();
      return;
    }
    text.removeAttribute("aria-invalid");
    say($("rec-status"), t("saving"));
    // Cleared only once the server has it: a refused draft stays in the box.
    const audience = $("rec-audience").value;
    act({ type: "recommendation", action: "save", text: text.value, audience }, {
      status: $("rec-status"), error: $("rec-error"), ok: t("saved"),
      done: () => { text.value = ""; },
    });
  });
}

// -- parity figures (a projection of the log, fetched after floor and intervention events) --

let parityTimer = null;
let clockChecked = false;

function refreshParity() {
  clearTimeout(parityTimer);
  parityTimer = setTimeout(async () => {
    const box = $("parity");
    try {
      const response = await fetch(`/rooms/${slug}/parity.json`, { credentials: "same-origin" });
      if (!clockChecked) {
        // A turn replayed on load has no live start to set the clock by: use the server's Date.
        clockChecked = true;
        const server = Date.parse(response.headers.get("Date") || "");
        const offset = server + 500 - Date.now();
        if (!Number.isNaN(offset) && Math.abs(offset) > 2000) clockOffset = offset;
      }
      const data = await response.json();
      if (data.hidden) {
        box.textContent = data.message;
        return;
      }
      const table = el("table");
      table.append(el("caption", { cls: "visually-hidden", text: t("parity_caption") }));
      const head = table.createTHead().insertRow();
      for (const key of ["parity_sector", "parity_turns", "parity_time", "parity_words"]) {
        head.append(el("th", { text: t(key), attrs: { scope: "col" } }));
      }
      const body = table.createTBody();
      for (const s of data.sectors) {
        const f = data.room.sectors[s.slug] || {};
        const row = body.insertRow();
        row.append(el("th", { text: sectorNames[s.slug] || s.name, attrs: { scope: "row" } }));
        for (const v of [f.turns ?? 0, clock(f.speaking_seconds ?? 0), f.words ?? 0]) {
          row.insertCell().textContent = v;
        }
      }
      const balance = el("p", { text: t("balance", { index: data.room.balance.toFixed(2) }) });
      box.classList.remove("muted");
      box.replaceChildren(table, balance);
    } catch {
      box.textContent = t("parity_unavailable");
    }
  }, 800);
}

function showPresence(frame) {
  const list = $("presence");
  list.replaceChildren(
    ...Object.entries(frame.sectors).map(([sector, count]) =>
      el("li", { text: t("presence_sector", { sector: sectorNames[sector] || sector, count }) })),
    el("li", { cls: "muted", text: t("presence_others", { others: frame.others, total: frame.total }) }),
  );
}

// -- consent -------------------------------------------------------------------------------

function consentGiven() {
  if (!consentBox || consentBox.hidden) return;
  const hadFocus = consentBox.contains(document.activeElement);
  consentBox.hidden = true;
  if (consentDone) {
    consentDone.hidden = false;
    if (hadFocus) consentDone.focus();  // the button is gone: keep the keyboard in place
  }
}

// -- the post box and its preview -------------------------------------------------------------

let previewTimer = null;
let previewAbort = null;

function previewShown() {
  return $("preview-button")?.getAttribute("aria-pressed") === "true";
}

async function renderPreview() {
  const target = $("preview-body");
  const body = bodyInput.value;
  if (!body.trim()) {
    target.replaceChildren(el("p", { cls: "muted", text: t("preview_empty") }));
    return;
  }
  previewAbort?.abort();
  previewAbort = new AbortController();
  $("post-preview").setAttribute("aria-busy", "true");
  try {
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const response = await fetch(`/rooms/${slug}/preview`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token },
      body: new URLSearchParams({ body }),
      signal: previewAbort.signal,
    });
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    if (!response.ok || !data || typeof data.html !== "string") {
      announce(postError, (data && data.message) || t("preview_failed"));
      return;
    }
    say(postError, "");
    target.innerHTML = data.html;  // sanitised by the server, like a posted intervention
  } catch (err) {
    if (err.name !== "AbortError") announce(postError, t("preview_failed"));
  } finally {
    $("post-preview").removeAttribute("aria-busy");
  }
}

function setupPostForm() {
  if (!form) return;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = bodyInput.value;
    if (!body.trim()) {
      bodyInput.setAttribute("aria-invalid", "true");
      announce(postError, t("post_empty"));
      bodyInput.focus();
      return;
    }
    bodyInput.removeAttribute("aria-invalid");
    say(postError, "");
    const clientId = uuid4();
    const kind = $("post-kind")?.value || "statement";
    const frame = kind === "statement" ? { body } : { body, kind };
    pending.set(clientId, frame);
    bodyInput.value = "";
    if (previewShown()) renderPreview();
    const sent = send({ type: "post", client_id: clientId, ...frame });
    say(postStatus, sent ? t("sending") : t("offline_will_send"));
  });
  bodyInput.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
  });
  bodyInput.addEventListener("input", () => {
    bodyInput.removeAttribute("aria-invalid");
    if (!previewShown()) return;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(renderPreview, 400);
  });
  const toggle = $("preview-button");
  toggle.addEventListener("click", () => {
    const show = !previewShown();
    toggle.setAttribute("aria-pressed", String(show));
    $("post-preview").hidden = !show;
    if (show) renderPreview();
  });
}

// -- start -------------------------------------------------------------------------------

$("consent-button")?.addEventListener("click", () => send({ type: "consent", rule: root.dataset.rule }));
setupPostForm();
setupFloorControls();
setupSeatPanel();
setupRoomControls();
setupCheckForm();
setupRecForm();
showFloorMode();
showStatus(root.dataset.status);
const LISTS = ["stream", "held", "flags", "hidden-list", "muted", "console-queue", "checks",
  "recommendations"];
for (const id of LISTS) showEmpty(id);
connect();
refreshParity();
