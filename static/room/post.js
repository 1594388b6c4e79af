// The post box (Markdown, its server-rendered preview) and the consent to the rule.
// A post waits in `pending` until the server acknowledges it (socket.js resends it after a
// reconnect).

import { $, role, root, slug } from "./page.js";
import { pending, send } from "./socket.js";
import { announce, el, say, t } from "./util.js";

const form = $("post-form");
const bodyInput = $("post-body");
const postStatus = $("post-status");
const postError = $("post-error");
const consentBox = $("consent-box");
const consentDone = $("consent-done");

function uuid4() {
  // crypto.randomUUID needs a secure context; getRandomValues does not.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// -- consent -------------------------------------------------------------------------------

export function showConsent(consented) {
  if (consentBox) consentBox.hidden = consented;
}

export function consentGiven() {
  // An observer's stream starts now: the replay that follows fills it.
  if (role === "observer") say($("stream-empty"), t("no_interventions"));
  if (!consentBox || consentBox.hidden) return;
  const hadFocus = consentBox.contains(document.activeElement);
  consentBox.hidden = true;
  if (consentDone) {
    consentDone.hidden = false;
    if (hadFocus) consentDone.focus();  // the button is gone: keep the keyboard in place
  }
}

export function setupConsent() {
  $("consent-button")?.addEventListener("click", () => send({ type: "consent", rule: root.dataset.rule }));
}

// -- the post box and its preview -------------------------------------------------------------

export function acknowledged(frame) {
  if (pending.delete(frame.client_id)) {
    say(postError, "");
    // The same words whatever held it: the server does not say why.
    say(postStatus, frame.held ? frame.reason : t("posted"));
  }
}

export function showNotice(message) {
  say(postStatus, message);
}

/** A refusal of one of this page's posts; false if the frame is about something else. */
export function postRefused(frame) {
  if (!(frame.client_id && pending.has(frame.client_id))) return false;
  const p = pending.get(frame.client_id);
  if (frame.code === "unavailable") {
    // Nothing was changed and the server will be back: keep the post pending and send it
    // again with the same client_id (never posted twice), after the time the server gave.
    announce(postError, frame.message || t("post_refused"));
    const clientId = frame.client_id;
    setTimeout(() => {
      if (pending.has(clientId)) send({ type: "post", client_id: clientId, ...pending.get(clientId) });
    }, Math.max(1, Number(frame.retry_after) || 5) * 1000);
    return true;
  }
  // A refused post goes back into the box: nothing the delegate typed is lost.
  if (!bodyInput.value.trim()) bodyInput.value = p.body;
  pending.delete(frame.client_id);
  if (frame.code === "consent_required" && consentBox) consentBox.hidden = false;
  say(postStatus, "");
  announce(postError, frame.message || t("post_refused"));
  return true;
}

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

export function setupPostForm() {
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
    const lang = $("post-lang")?.value;
    if (lang) frame.lang = lang;
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
