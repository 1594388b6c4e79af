// Consensus checks: a delegate's ballot, the chair's open and close, and the result,
// weighed per sector and explained in the reader's language.

import { $, POOLED, S, isDelegate, moderates, sectorNames } from "./page.js";
import { act } from "./socket.js";
import { announce, button, consoleBox, el, say, showEmpty, t } from "./util.js";

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

/** One reason of a result (a code and its figures) in the reader's language. Sectors this
 * reader may not see named come as the pooled group, said without a name. */
function explain(x, labels) {
  const slugs = x.sectors || [];
  const named = slugs.filter((slug) => slug !== POOLED);
  const pooled = slugs.length > named.length ? (named.length ? "_and_pooled" : "_pooled") : "";
  return t(`why_${x.code}${pooled}`, {
    option: labels[x.option] || x.option,
    share: percent(x.share ?? 0),
    support: percent(x.support ?? 0),
    threshold: percent(x.threshold ?? 0),
    sectors: named.map((slug) => sectorNames[slug] || slug).join(", "),
  });
}

export function showCheck(kind, d) {
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

export function setupCheckForm() {
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
