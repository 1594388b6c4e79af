// The interventions: placed as the server rendered them (body_html is sanitised there,
// moderation/sanitize.py), with the buttons each reader may use on them: flag for
// delegates and the rapporteur; hide, redact and "Seat" for the chair and moderators.

import { $, LANG, canFlag, moderates } from "./page.js";
import { ask } from "./dialog.js";
import { chooseSeat } from "./seats.js";
import { act } from "./socket.js";
import { button, consoleBox, el, showEmpty, t, who, withoutNames } from "./util.js";

const stream = $("stream");
const streamLog = $("stream-log");

export const known = new Map();  // id -> the latest data of an intervention (moderators act on it)
const KIND_LABELS = {
  question: "kind_question", reply: "kind_reply", point_of_order: "kind_point_of_order",
  in_room: "kind_in_room",
};

export function findIntervention(id) {
  return [...stream.children].find((li) => li.dataset.id === id) || null;
}

export function excerpt(d, length = 140) {
  const text = new DOMParser().parseFromString(d.body_html, "text/html").body.textContent.trim();
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

function redactionNote(reason) {
  return el("p", { cls: "redaction muted", text: t("redacted_by_moderator", { reason }) });
}

export function showIntervention(seq, d) {
  known.set(d.id, d);
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

export function hideIntervention(d) {
  findIntervention(d.id)?.remove();
  showEmpty("stream");
}

export function redactIntervention(d) {
  const li = findIntervention(d.id);
  if (li) {
    li.querySelector(".body").innerHTML = d.body_html;  // sanitised by the server
    li.querySelector(".redaction")?.remove();
    li.append(redactionNote(d.reason));
  }
  const data = known.get(d.id);
  if (data) known.set(d.id, { ...data, body_html: d.body_html, redaction: { reason: d.reason } });
}

export function renderIntervention(seq, d, { inStream = true } = {}) {
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
  // Screen readers and hyphenation follow the language it is written in; Arabic reads right to left.
  if (d.lang) {
    body.lang = d.lang;
    if (d.lang === "ar") body.dir = "rtl";
  }
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
    { status: $("post-status"), error: $("room-alert"), ok: t("flag_thanks") });
}

// -- what a moderator does to an intervention ---------------------------------------------

export function moderate(action, id, extra, box) {
  act({ type: "moderate", action, id, ...extra }, box);
}

export async function hideAsk(id, section = "held") {
  const answer = await ask({
    title: t("hide_title"), reasonLabel: t("hide_reason"), confirm: t("hide_confirm"),
  });
  if (answer) moderate("hide", id, { reason: answer.reason }, consoleBox(section, t("hidden_done")));
}

/** Redact an intervention (or publish a held one redacted). The text to send starts with
 *  the names the leak guard found taken out, the original shown above with them marked;
 *  a version that still names someone comes back refused, marked again, with the field to
 *  say why a marked word is not a participant. */
export async function redactAsk(id, li, { release = false, source = null } = {}) {
  let body = li.querySelector(".body")?.innerText.trim() ?? "";
  let marked = null;
  if (source) {
    body = source.mentions.length ? withoutNames(source.text, source.mentions) : source.text;
    marked = source;
  }
  let vouchLabel = null;
  let text = t("redact_text");
  let reason = "";
  for (;;) {
    const answer = await ask({
      title: release ? t("publish_redacted_title") : t("redact_title"),
      text,
      reasonLabel: t("redact_reason"),
      reason,
      body,
      bodyLabel: t("redact_body"),
      confirm: release ? t("publish_redacted") : t("redact_confirm"),
      marked,
      vouchLabel,
    });
    if (!answer) return;
    const extra = { reason: answer.reason };
    if (answer.body) extra.body = answer.body;
    if (answer.vouch) extra.not_a_participant = answer.vouch;
    const refusal = await moderated("redact", id, extra, consoleBox("held", t("redacted_done")));
    if (!refusal) return;
    // Still names someone: say so, show where, and let the moderator edit it or vouch.
    ({ reason } = answer);
    body = answer.body || "";
    text = refusal.message;
    marked = { text: body, mentions: refusal.mentions || [] };
    vouchLabel = t("vouch_label");
  }
}

/** Like moderate(), but resolves to the `names_participant` refusal (null otherwise), which
 *  the caller answers in a dialog instead of an error line. */
export function moderated(action, id, extra, box) {
  return new Promise((resolve) => {
    act({ type: "moderate", action, id, ...extra }, {
      ...box,
      done: () => resolve(null),
      failed: (answer) => {
        const names = Boolean(answer && answer.code === "names_participant");
        resolve(names ? answer : null);
        return names;
      },
    });
  });
}
