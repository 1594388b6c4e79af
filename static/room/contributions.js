// Written contributions published while the page is open: each is placed in its agenda
// item's list, as the server renders them (forum/room/contributions.py); a replayed event
// for one already shown changes nothing. body_html and summary_html are sanitised by the
// server.

import { el, t, who } from "./util.js";

function listOf(itemId) {
  return [...document.querySelectorAll(".contribution-list")].find(
    (list) => list.dataset.item === itemId,
  );
}

function html(cls, fragment) {
  const div = el("div", { cls });
  div.innerHTML = fragment;  // sanitised by the server (moderation/sanitize.py)
  return div;
}

export function showContribution(d) {
  const list = listOf(d.agenda_item);
  if (!list) return;
  if ([...list.children].some((li) => li.dataset.contribution === d.id)) return;
  const number = `${list.dataset.position}.${list.childElementCount + 1}`;
  const li = el("li", { cls: "contribution", attrs: { "data-contribution": d.id } });
  li.append(
    el("p", { cls: "who" },
      el("strong", { text: t("contribution_number", { number }) }),
      ` · ${who(d.attribution)}`),
  );
  if (d.summary_html) {
    const summary = html("summary", d.summary_html);
    summary.prepend(el("p", { cls: "muted", text: t("executive_summary") }));
    li.append(summary);
  }
  li.append(html("body", d.body_html));
  if (d.attachment) {
    const kb = Math.max(1, Math.round(d.attachment.bytes / 1024));
    const link = el("a", {
      text: t("contribution_attachment", { kind: d.attachment.kind.toUpperCase(), size: `${kb} KB` }),
      attrs: { href: d.attachment.url },
    });
    li.append(el("p", {}, link));
  }
  list.append(li);
  const empty = list.parentElement.querySelector(".empty");
  if (empty) empty.hidden = true;
}
