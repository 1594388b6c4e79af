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

if (consentButton) {
  consentButton.addEventListener("click", () => send({ type: "consent", rule: root.dataset.rule }));
}

connect();
