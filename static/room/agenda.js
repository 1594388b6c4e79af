// The agenda: the current item at the top of the page and in the list, for everyone; for
// the chair and moderators, the console's agenda ("Next item", "Make current", add, rename,
// move up), sent as `agenda` frames. The server's events redraw it.

import { $, moderates } from "./page.js";
import { ask } from "./dialog.js";
import { act } from "./socket.js";
import { announce, button, consoleBox, el, keepFocus, say, showEmpty, t } from "./util.js";

let items = [];    // [{id, position, title}] in order
let current = "";  // the current item's id

function readPage() {
  items = [...document.querySelectorAll("#agenda li")].map((li, i) => ({
    id: li.dataset.item, position: i + 1, title: li.textContent.trim(),
  }));
  current = document.querySelector("#agenda li.current")?.dataset.item || items[0]?.id || "";
}

const box = () => consoleBox("agenda");

function draw() {
  const list = $("agenda");
  list.replaceChildren(...items.map((item) => {
    const li = el("li", { text: item.title });
    li.dataset.item = item.id;
    if (item.id === current) {
      li.classList.add("current");
      li.setAttribute("aria-current", "step");
    }
    return li;
  }));
  const now = items.find((item) => item.id === current);
  say($("current-item"), now ? now.title : "");
  drawConsole();
}

function drawConsole() {
  const list = $("console-agenda");
  if (!list) return;
  keepFocus(list, () => {
    list.replaceChildren(...items.map((item, i) => {
      const isCurrent = item.id === current;
      const li = el("li", { cls: isCurrent ? "console-item current" : "console-item" },
        el("p", {}, el("strong", { text: item.title }), isCurrent ? ` · ${t("agenda_current")}` : ""));
      li.dataset.item = item.id;
      const actions = el("p", { cls: "actions" });
      if (!isCurrent) {
        actions.append(button(t("agenda_make_current"), () => setCurrent(item),
          { label: t("agenda_make_current_label", { title: item.title }), key: `set-${item.id}` }));
      }
      if (i > 0) {
        actions.append(button(t("move_up"), () => act(
          { type: "agenda", action: "move", item: item.id, position: i },
          { ...box(), ok: t("agenda_moved_done", { title: item.title, position: i }) },
        ), { label: t("agenda_move_up_label", { title: item.title }), key: `up-${item.id}` }));
      }
      actions.append(button(t("agenda_rename"), () => rename(item),
        { label: t("agenda_rename_label", { title: item.title }), key: `rename-${item.id}` }));
      li.append(actions);
      return li;
    }));
  });
  showEmpty("console-agenda");
  const next = $("agenda-next");
  if (next) {
    const at = items.findIndex((item) => item.id === current);
    next.hidden = at < 0 || at >= items.length - 1;
  }
}

function setCurrent(item) {
  act({ type: "agenda", action: "set", item: item.id },
    { ...box(), ok: t("agenda_now", { title: item.title }) });
}

async function rename(item) {
  const answer = await ask({
    title: t("agenda_rename_title", { title: item.title }), reasonLabel: t("agenda_title"),
    minLength: 1, reason: item.title, confirm: t("agenda_rename"),
  });
  if (!answer) return;
  act({ type: "agenda", action: "rename", item: item.id, title: answer.reason },
    { ...box(), ok: t("agenda_renamed_done") });
}

export function showAgenda(kind, d, live) {
  if (kind === "agenda.current_changed") {
    current = d.agenda_item;
    const item = items.find((i) => i.id === current);
    if (item) item.title = d.title;
    if (live) announce($("floor-live"), t("agenda_now", { title: d.title }));
  } else {
    items = d.items;
    current = d.current || current;
  }
  draw();
}

export function setupAgenda() {
  readPage();
  draw();
  if (!moderates) return;
  $("agenda-next")?.addEventListener("click", () => {
    const at = items.findIndex((item) => item.id === current);
    if (at >= 0 && at < items.length - 1) setCurrent(items[at + 1]);
  });
  $("agenda-add-form")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const title = $("agenda-add-title");
    if (!title.value.trim()) {
      title.setAttribute("aria-invalid", "true");
      announce($("agenda-error"), t("agenda_title_required"));
      title.focus();
      return;
    }
    title.removeAttribute("aria-invalid");
    act({ type: "agenda", action: "add", title: title.value },
      { ...box(), ok: t("agenda_added_done"), done: () => { title.value = ""; } });
  });
}

