// The live room: one websocket, gapless by seq, reconnecting with ?after=<last seq>.
// Events are rendered by the server (body_html is sanitised there); this module only
// places them. No build step.

const root = document.getElementById("room");
const slug = root.dataset.slug;
const sectorNames = JSON.parse(document.getElementById("sector-names").textContent);
const stream = document.getElementById("stream");
const conn = document.getElementById("conn");
const form = document.getElementById("post-form");
const bodyInput = document.getElementById("post-body");
const postStatus = document.getElementById("post-status");
const consentBox = document.getElementById("consent-box");
const consentButton = document.getElementById("consent-button");
// Delegates and the rapporteur may flag an intervention for the moderators.
const canFlag = ["delegate", "rapporteur"].includes(root.dataset.role);
const moderates = ["chair", "moderator"].includes(root.dataset.role);
const held = document.getElementById("held");

let socket = null;
let lastSeq = 0;        // highest seq placed on the page
let resuming = false;   // a resume is in flight: out-of-order frames wait for the replay
let retry = 0;
const pending = new Map();  // client_id -> body, until acknowledged (resent after reconnect)

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

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/rooms/${slug}/?after=${lastSeq}`);
  setConn("connecting", retry ? "Reconnecting…" : "Connecting…");
  socket.addEventListener("message", (msg) => handle(JSON.parse(msg.data)));
  socket.addEventListener("close", (ev) => {
    if (ev.code >= 4400 && ev.code < 4500) {
      setConn("refused", "Disconnected: access refused.");
      return;
    }
    retry += 1;
    const delay = Math.min(10000, 500 * 2 ** Math.min(retry, 5)) * (0.5 + Math.random() / 2);
    setConn("offline", `Offline — reconnecting in ${Math.round(delay / 1000)} s`);
    setTimeout(connect, delay);
  });
}

function handle(frame) {
  switch (frame.type) {
    case "welcome":
      retry = 0;
      resuming = false;
      setConn("online", "Connected");
      document.getElementById("you-label").textContent = frame.you.attribution;
      if (consentBox) consentBox.hidden = frame.you.consented;
      for (const [clientId, body] of pending) send({ type: "post", client_id: clientId, body });
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
      place(frame);
      break;
    case "ack":
      if (pending.delete(frame.client_id)) {
        postStatus.textContent = frame.held ? `Held for the moderator: ${frame.reason}` : "Posted.";
      }
      break;
    case "notice":
      postStatus.textContent = frame.message;
      break;
    case "done":
      if (frame.ref === "rec") {
        // Cleared only once the server has it: a refused draft stays in the box.
        document.getElementById("rec-text").value = "";
        document.getElementById("rec-status").textContent = "Saved.";
      }
      if (frame.action === "vote") postStatus.textContent = "Your ballot is recorded; you may change it until the check closes.";
      break;
    case "flagged":
      postStatus.textContent = "Thank you: the moderators will look at it.";
      break;
    case "consented":
      if (consentBox) consentBox.hidden = true;
      break;
    case "presence":
      showPresence(frame);
      break;
    case "error":
      if (frame.ref === "rec") {
        document.getElementById("rec-status").textContent = frame.message;
        break;
      }
      if (frame.client_id && pending.has(frame.client_id)) {
        // A refused post goes back into the box: nothing the delegate typed is lost.
        if (!bodyInput.value.trim()) bodyInput.value = pending.get(frame.client_id);
        pending.delete(frame.client_id);
      }
      if (frame.code === "consent_required" && consentBox) consentBox.hidden = false;
      postStatus.textContent = frame.message;
      break;
  }
}

function place(frame) {
  const d = frame.data;
  switch (frame.kind) {
    case "intervention.held":
      if (held) held.append(renderHeld(frame.seq, d));
      break;
    case "intervention.rejected":
      removeHeld(d.id);
      break;
    case "intervention.flagged": {
      const li = findIntervention(d.id);
      if (li) li.dataset.flags = d.flags;
      break;
    }
    case "intervention.posted":
    case "intervention.restored": {
      removeHeld(d.id);
      refreshParity();
      const existing = findIntervention(d.id);
      const li = renderIntervention(frame.seq, d);
      if (existing) {
        existing.replaceWith(li);
      } else {
        // Follow the stream only if its reader was at the bottom; never scroll the window.
        const atBottom = stream.scrollHeight - stream.scrollTop - stream.clientHeight < 40;
        stream.append(li);
        if (atBottom) stream.scrollTop = stream.scrollHeight;
      }
      break;
    }
    case "intervention.hidden": {
      const li = findIntervention(d.id);
      if (li) li.remove();
      break;
    }
    case "intervention.redacted": {
      const li = findIntervention(d.id);
      if (li) {
        li.querySelector(".body").innerHTML = d.body_html;  // sanitised by the server
        li.querySelector(".redaction")?.remove();
        li.append(redactionNote(d.reason));
      }
      break;
    }
    case "agenda.current_changed":
      for (const li of document.querySelectorAll("#agenda li")) {
        const current = li.dataset.item === d.agenda_item;
        li.classList.toggle("current", current);
        if (current) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
      }
      break;
    case "floor.hand_raised":
    case "floor.hand_lowered":
    case "floor.given":
    case "floor.turn_ended":
    case "floor.request_moved":
    case "floor.request_removed":
    case "floor.mode_changed":
      showFloor(d);
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
      document.getElementById("room-settings").textContent = [
        d.locked ? "Floor locked" : "",
        d.premoderation ? "Pre-moderated" : "",
        d.slow_mode_seconds ? `Slow mode: ${d.slow_mode_seconds} s` : "",
      ].filter(Boolean).join(" · ");
      break;
    case "room.status_changed":
      document.getElementById("room-status").textContent =
        { scheduled: "Scheduled", live: "Live", closed: "Closed" }[d.status] || d.status;
      if (form) form.querySelector("button").disabled = d.status === "closed";
      break;
    case "minutes.saved":
    case "minutes.review_opened":
    case "minutes.review_closed":
    case "minutes.adopted":
      document.getElementById("minutes-status").textContent = {
        "minutes.saved": `· version ${d.version} of the minutes saved`,
        "minutes.review_opened": `· version ${d.version} of the minutes is open for your comments`,
        "minutes.review_closed": `· the review of version ${d.version} has ended`,
        "minutes.adopted": `· version ${d.version} of the minutes adopted`,
      }[frame.kind];
      break;
    default:
      break;  // redacted stubs and kinds this page does not show
  }
}

function removeHeld(id) {
  if (!held) return;
  for (const li of held.children) if (li.dataset.id === id) li.remove();
}

function moderate(action, id, extra = {}) {
  send({ type: "moderate", action, id, ...extra });
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function askReason(question) {
  const reason = window.prompt(question);
  return reason && reason.trim() ? reason.trim() : null;
}

// A held intervention, for the chair and moderators: publish, publish redacted, or decline.
function renderHeld(seq, d) {
  const li = renderIntervention(seq, d, { inStream: false });
  const why = document.createElement("p");
  why.className = "muted";
  why.textContent = d.reason;
  const actions = document.createElement("p");
  actions.className = "actions";
  actions.append(
    button("Publish", () => moderate("approve", d.id)),
    " ",
    button("Publish redacted…", () => {
      const reason = askReason("Reason for the redaction (shown to everyone):");
      if (!reason) return;
      const body = window.prompt("The redacted text:", li.querySelector(".body").innerText);
      if (body && body.trim()) moderate("redact", d.id, { reason, body });
    }),
    " ",
    button("Decline…", () => {
      const reason = askReason("Reason for declining (sent to the author):");
      if (reason) moderate("reject", d.id, { reason });
    }),
  );
  li.append(why, actions);
  return li;
}

function findIntervention(id) {
  return [...stream.children].find((li) => li.dataset.id === id) || null;
}

function redactionNote(reason) {
  const note = document.createElement("p");
  note.className = "redaction muted";
  note.textContent = `Redacted by the moderator: ${reason}`;
  return note;
}

function renderIntervention(seq, d, { inStream = true } = {}) {
  const li = document.createElement("li");
  li.className = `intervention kind-${d.kind}`;
  li.dataset.seq = seq;
  li.dataset.id = d.id;
  const head = document.createElement("p");
  head.className = "attribution";
  const who = document.createElement("strong");
  who.textContent = d.attribution.label;
  const when = document.createElement("time");
  when.dateTime = d.created_at;
  when.textContent = new Date(d.created_at).toLocaleTimeString();
  head.append(who, " · ", when);
  if (moderates && inStream) {
    head.append(
      " ",
      button("Hide…", () => {
        const reason = askReason("Why hide this intervention?");
        if (reason) moderate("hide", d.id, { reason });
      }),
      " ",
      button("Redact…", () => {
        const reason = askReason("Reason for the redaction (shown to everyone):");
        if (reason) moderate("redact", d.id, { reason });
      }),
    );
  }
  if (canFlag && inStream) {
    const flag = document.createElement("button");
    flag.type = "button";
    flag.className = "flag";
    flag.textContent = "Flag";
    flag.setAttribute("aria-label", `Flag this intervention by ${d.attribution.label} for the moderators`);
    flag.addEventListener("click", () => {
      const reason = window.prompt("Why should the moderators look at this intervention?");
      if (reason && reason.trim()) send({ type: "flag", id: d.id, reason: reason.trim() });
    });
    head.append(" ", flag);
  }
  const body = document.createElement("div");
  body.className = "body";
  body.innerHTML = d.body_html;  // sanitised by the server (moderation/sanitize.py)
  li.append(head, body);
  if (d.redaction) li.append(redactionNote(d.redaction.reason));
  return li;
}

// -- the floor: the server's queue and speaker; the countdown runs on the server's deadline --

let countdown = null;
let currentSpeaker = "";  // the request holding the floor, as this page last saw it

function showFloor(d) {
  currentSpeaker = d.speaker ? d.speaker.request : "";
  const queue = document.getElementById("queue");
  queue.replaceChildren(
    ...d.queue.map((r) => {
      const li = document.createElement("li");
      li.textContent = `${r.attribution.label}${r.kind === "point_of_order" ? " (point of order)" : r.kind === "reply" ? " (reply)" : ""}`;
      return li;
    }),
  );
  const speaker = document.getElementById("speaker");
  clearInterval(countdown);
  if (!d.speaker) {
    speaker.textContent = "Nobody has the floor.";
    return;
  }
  const ends = new Date(d.speaker.ends_at).getTime();
  const tick = () => {
    const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    speaker.textContent = `${d.speaker.attribution.label} has the floor: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`;
  };
  tick();
  countdown = setInterval(tick, 1000);
}

// -- consensus checks --

const checks = new Map();

function showCheck(kind, d) {
  const list = document.getElementById("checks");
  let li = checks.get(d.check);
  if (!li) {
    li = document.createElement("li");
    li.className = "check";
    checks.set(d.check, li);
    list.append(li);
  }
  if (kind === "consensus.opened") {
    const p = document.createElement("p");
    p.className = "proposition";
    p.textContent = d.proposition;
    const status = document.createElement("p");
    status.className = "check-status muted";
    status.textContent = "Open";
    li.replaceChildren(p, status);
    if (root.dataset.role === "delegate") {
      const votes = document.createElement("p");
      votes.className = "votes";
      for (const option of d.options) {
        votes.append(button(option.label, () => send({ type: "vote", check: d.check, option: option.key })), " ");
      }
      li.append(votes);
    }
    if (moderates) li.append(button("Close the check", () => send({ type: "check", action: "close", check: d.check })));
  } else if (kind === "consensus.voted") {
    const status = li.querySelector(".check-status");
    if (status) status.textContent = `Open · ${d.voters} voted`;
  } else {
    li.querySelectorAll("button").forEach((b) => b.remove());
    const r = d.result;
    const status = li.querySelector(".check-status") || li.appendChild(document.createElement("p"));
    const shares = Object.entries(r.weighted).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(" · ");
    status.textContent = `${r.outcome === "consensus" ? "Consensus" : "No consensus"} — weighted: ${shares}`;
  }
}

// -- recommendations --

const AUDIENCES = {
  rigos: "Regional intergovernmental organizations", csos: "Civil society organizations",
  un: "The United Nations", states: "States", "private-sector": "The private sector",
};

function showRecommendation(kind, d) {
  const list = document.getElementById("recommendations");
  let li = [...list.children].find((x) => x.dataset.id === d.id);
  if (kind === "recommendation.deleted") {
    if (li) li.remove();
    return;
  }
  if (!li) {
    li = document.createElement("li");
    li.className = "check";
    li.dataset.id = d.id;
    list.append(li);
  }
  const to = document.createElement("p");
  to.className = "muted";
  to.textContent = `To: ${AUDIENCES[d.audience] || d.audience}`;
  const body = document.createElement("div");
  body.innerHTML = d.text_html;  // sanitised by the server
  li.replaceChildren(to, body);
}

// -- parity figures (a projection of the log, fetched after floor and intervention events) --

let parityTimer = null;

function clock(seconds) {
  return `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, "0")}`;
}

function refreshParity() {
  clearTimeout(parityTimer);
  parityTimer = setTimeout(async () => {
    const box = document.getElementById("parity");
    try {
      const response = await fetch(`/rooms/${slug}/parity.json`, { credentials: "same-origin" });
      const data = await response.json();
      if (data.hidden) {
        box.textContent = data.message;
        return;
      }
      const table = document.createElement("table");
      const head = table.createTHead().insertRow();
      for (const t of ["Sector", "Turns", "Time", "Words"]) {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = t;
        head.append(th);
      }
      const body = table.createTBody();
      for (const s of data.sectors) {
        const f = data.room.sectors[s.slug] || {};
        const row = body.insertRow();
        for (const v of [s.name, f.turns ?? 0, clock(f.speaking_seconds ?? 0), f.words ?? 0]) {
          row.insertCell().textContent = v;
        }
      }
      const balance = document.createElement("p");
      balance.textContent = `Balance index: ${data.room.balance.toFixed(2)} (1 = equal speaking time)`;
      box.classList.remove("muted");
      box.replaceChildren(table, balance);
    } catch {
      box.textContent = "Parity figures unavailable.";
    }
  }, 800);
}

function showPresence(frame) {
  const list = document.getElementById("presence");
  list.replaceChildren();
  for (const [slugName, count] of Object.entries(frame.sectors)) {
    const li = document.createElement("li");
    li.textContent = `${sectorNames[slugName] || slugName}: ${count}`;
    list.append(li);
  }
  const li = document.createElement("li");
  li.className = "muted";
  li.textContent = `Chair, rapporteur and observers: ${frame.others} · total ${frame.total}`;
  list.append(li);
}

if (form) {
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = bodyInput.value;
    if (!body.trim()) return;
    const clientId = uuid4();
    pending.set(clientId, body);
    bodyInput.value = "";
    postStatus.textContent = send({ type: "post", client_id: clientId, body })
      ? "Sending…" : "Offline: will be sent on reconnect.";
  });
  bodyInput.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
  });
}

const handRaise = document.getElementById("hand-raise");
if (handRaise) {
  handRaise.addEventListener("click", () =>
    send({ type: "hand", action: "raise", kind: document.getElementById("hand-kind").value }));
  document.getElementById("hand-lower").addEventListener("click", () => send({ type: "hand", action: "lower" }));
}
const floorNext = document.getElementById("floor-next");
if (floorNext) {
  // expected_speaker: if another moderator changed the floor a moment ago, the server
  // refuses (floor_taken) instead of giving two turns in a row.
  floorNext.addEventListener("click", () =>
    send({ type: "floor", action: "next", expected_speaker: currentSpeaker }));
  document.getElementById("floor-end").addEventListener("click", () => send({ type: "floor", action: "end" }));
}
const recForm = document.getElementById("rec-form");
if (recForm) {
  recForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = document.getElementById("rec-text");
    if (!text.value.trim()) return;
    send({ type: "recommendation", action: "save", ref: "rec", text: text.value,
           audience: document.getElementById("rec-audience").value });
    document.getElementById("rec-status").textContent = "Saving…";
  });
}
const checkForm = document.getElementById("check-form");
if (checkForm) {
  checkForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("check-proposition");
    if (input.value.trim()) send({ type: "check", action: "open", proposition: input.value.trim() });
    input.value = "";
  });
}

if (consentButton) {
  consentButton.addEventListener("click", () => send({ type: "consent", rule: root.dataset.rule }));
}

connect();
refreshParity();
