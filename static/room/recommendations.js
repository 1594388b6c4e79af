// Recommendations: the drafts the rapporteur and the chair save, shown to everyone.

import { $, S } from "./page.js";
import { act } from "./socket.js";
import { announce, el, say, showEmpty, t } from "./util.js";

export function showRecommendation(kind, d) {
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

export function setupRecForm() {
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
