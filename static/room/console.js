// The moderators' console for interventions: the held queue (names found, pre-moderation),
// the alerts about seats, the flags delegates raised, and the hidden list. A participant's
// page has none of these lists, and every function here does nothing there.

import { $, moderates, slug } from "./page.js";
import { ask } from "./dialog.js";
import { chooseSeat } from "./seats.js";
import {
  excerpt, findIntervention, hideAsk, known, moderate, moderated, redactAsk, renderIntervention,
} from "./stream.js";
import { announce, button, consoleBox, el, keepFocus, markNames, showEmpty, t, who } from "./util.js";

const held = $("held");

export function showHeld(seq, d) {
  if (held) {
    removeHeld(d.id);
    held.append(renderHeld(seq, d));
    showEmpty("held");
  }
}

export function removeHeld(id) {
  if (!held) return;
  for (const li of [...held.children]) if (li.dataset.id === id) li.remove();
  showEmpty("held");
}

// A held intervention, for the chair and moderators: publish, publish redacted, or decline.
// One held for naming someone shows its Markdown with the names marked.
function renderHeld(seq, d) {
  known.set(d.id, d);
  const li = renderIntervention(seq, d, { inStream: false });
  const label = who(d.attribution);
  const mentions = d.mentions || [];
  if (mentions.length) {
    const source = el("p", { cls: "marked-source" });
    markNames(source, d.body_md, mentions);
    li.querySelector(".body").replaceWith(source);
  }
  const source = d.body_md === undefined ? null : { text: d.body_md, mentions };
  li.append(
    el("p", { cls: "muted", text: t("held_why", { reason: d.reason }) }),
    el("p", { cls: "actions" },
      button(t("publish"), () => publishHeld(d.id, source),
        { label: t("publish_label", { label }), key: `approve-${d.id}` }),
      button(t("publish_redacted"), () => redactAsk(d.id, li, { release: true, source }),
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

// Publishing a held intervention as written: when it names someone, only once the moderator
// has said why the marked words are not participants (audited).
async function publishHeld(id, source) {
  const box = consoleBox("held", t("published_done"));
  let marked = source && source.mentions.length ? source : null;
  if (!marked) {
    const refusal = await moderated("approve", id, {}, box);
    if (!refusal) return;
    marked = { text: source ? source.text : "", mentions: refusal.mentions || [] };
  }
  const answer = await ask({
    title: t("publish_as_written_title"), text: t("publish_as_written_text"), marked,
    reasonLabel: t("vouch_label"), confirm: t("publish_as_written"),
  });
  if (answer) moderate("approve", id, { not_a_participant: answer.reason }, box);
}

// -- alerts about a seat ------------------------------------------------------------------

export function showAlert(d, live) {
  const list = $("alerts");
  if (!list) return;
  const label = who(d.attribution);
  for (const li of [...list.children]) if (li.dataset.seat === d.seat) li.remove();
  const text = t("alert_name_holds", { label, count: d.count, minutes: d.minutes });
  const li = el("li", { cls: "console-item alert-item" },
    el("p", { text }),
    el("p", { cls: "actions" },
      button(t("seat_button"), () => chooseSeat(d.seat, label), { label: t("seat_label", { label }) }),
      button(t("dismiss"), () => {
        keepFocus(list, () => li.remove());
        showEmpty("alerts");
      }, { label: t("dismiss_alert_label", { label }) })),
  );
  li.dataset.seat = d.seat;
  list.prepend(li);
  showEmpty("alerts");
  if (live) announce($("alerts-live"), text);
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

export function showFlag(d) {
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
          : button(t("hide"), () => hideAsk(id, "flags"),
            { label: t("hide_label", { label }), key: `hide-${id}` }),
        button(t("dismiss"), () => dismissFlag(id),
          { label: t("dismiss_label", { label }), key: `dismiss-${id}` }),
      ),
    );
  });
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

/** An intervention back in the stream is neither held nor hidden any more. */
export function interventionShown(id) {
  removeHeld(id);
  removeHidden(id);
}

export function interventionHidden(d) {
  if (moderates) {
    showHidden(d.id, d.reason);
    markFlag(d.id, true);
  }
}
