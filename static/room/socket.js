// The socket: one per page, gapless by seq. Every event carries the room's sequence
// number; a gap means the channel layer dropped something, so the page asks to resume
// after the last seq it placed, and a reconnect opens with ?after=<last seq>. Frames that
// answer a `ref` go back to the call that sent them; the rest go to main.js.

import { $, slug } from "./page.js";
import { alertRoom, announce, say, t } from "./util.js";

const conn = $("conn");
const streamLog = $("stream-log");  // none on the venue screen

let socket = null;
let lastSeq = 0;        // highest seq placed on the page
let liveFrom = 0;       // events up to this seq are history (a replay): no announcements
let resuming = false;   // a resume is in flight: out-of-order frames wait for the replay
let retry = 0;
// client_id -> {body, kind}, until acknowledged (resent on reconnect)
export const pending = new Map();
const answers = new Map();  // ref -> {done(frame), error(frame)} for frames that carry a ref
let refCount = 0;
let deliver = null;     // main.js: {welcome(frame), event(frame, live), frame(frame)}

function setConn(state, text) {
  conn.dataset.state = state;
  conn.textContent = text;
}

export function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

/**
 * Send a frame that takes a `ref`; the answer or the refusal comes back to this call.
 * `status` / `error`: the live regions near the control; `ok`: what to say when done.
 * `failed(answer)` returning true has answered the refusal itself (nothing else is said).
 */
export function act(frame, { status, error, ok, done, failed } = {}) {
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
      if (failed && failed(answer) === true) return;  // the caller answered it itself
      const text = answer.message || t("refused");
      if (error) announce(error, text); else alertRoom(text);
    },
  });
}

/** Open the socket; `handlers` receive what this module does not keep for itself. */
export function connect(handlers) {
  deliver = handlers;
  open();
}

function open() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/rooms/${slug}/?after=${lastSeq}`);
  setConn("connecting", retry ? t("reconnecting") : t("connecting"));
  socket.addEventListener("message", (msg) => handle(JSON.parse(msg.data)));
  socket.addEventListener("close", (ev) => {
    answers.clear();  // answers to frames of a closed socket never come
    if (ev.code === 4409) {
      // The seat's role or sector changed: the page (its console, its controls) is the old
      // role's. Reload it; the session carries on and the new socket has the new role.
      location.reload();
      return;
    }
    if (ev.code >= 4400 && ev.code < 4500) {
      setConn("refused", t("refused_connection"));
      return;
    }
    retry += 1;
    const delay = Math.min(10000, 500 * 2 ** Math.min(retry, 5)) * (0.5 + Math.random() / 2);
    setConn("offline", t("offline_reconnecting", { seconds: Math.round(delay / 1000) }));
    setTimeout(open, delay);
  });
}

function caughtUp() {
  // While history replays, the log stays quiet; live events are announced.
  if (lastSeq >= liveFrom) streamLog?.setAttribute("aria-live", "polite");
}

function handle(frame) {
  switch (frame.type) {
    case "welcome":
      retry = 0;
      resuming = false;
      liveFrom = frame.last_seq;
      if (lastSeq < liveFrom) streamLog?.setAttribute("aria-live", "off");
      caughtUp();
      setConn("online", t("connected"));
      deliver.welcome(frame);
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
      deliver.event(frame, frame.seq > liveFrom);
      caughtUp();
      break;
    case "done":
    case "flagged":
    case "revealed": {
      const answer = answers.get(frame.ref);
      answers.delete(frame.ref);
      if (answer) answer.done(frame);
      break;
    }
    case "error": {
      const answer = frame.ref && answers.get(frame.ref);
      if (answer) {
        answers.delete(frame.ref);
        answer.error(frame);
        break;
      }
      deliver.frame(frame);
      break;
    }
    default:
      deliver.frame(frame);
      break;
  }
}
