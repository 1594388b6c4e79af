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
      if (pending.delete(frame.client_id)) postStatus.textContent = "Posted.";
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
    case "intervention.posted": {
      const li = document.createElement("li");
      li.className = `intervention kind-${d.kind}`;
      li.dataset.seq = frame.seq;
      li.dataset.id = d.id;
      const head = document.createElement("p");
      head.className = "attribution";
      const who = document.createElement("strong");
      who.textContent = d.attribution.label;
      const when = document.createElement("time");
      when.dateTime = d.created_at;
      when.textContent = new Date(d.created_at).toLocaleTimeString();
      head.append(who, " · ", when);
      const body = document.createElement("div");
      body.className = "body";
      body.innerHTML = d.body_html;  // sanitised by the server (moderation/sanitize.py)
      li.append(head, body);
      // Follow the stream only if its reader was at the bottom; never scroll the window.
      const atBottom = stream.scrollHeight - stream.scrollTop - stream.clientHeight < 40;
      stream.append(li);
      if (atBottom) stream.scrollTop = stream.scrollHeight;
      break;
    }
    case "agenda.current_changed":
      for (const li of document.querySelectorAll("#agenda li")) {
        const current = li.dataset.item === d.agenda_item;
        li.classList.toggle("current", current);
        if (current) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
      }
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
