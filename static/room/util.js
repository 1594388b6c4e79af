// Small helpers every part of the room uses: words, labels, elements, live regions.

import { $, S, sectorNames } from "./page.js";

/** Who spoke, in the reader's language: stored labels are English; a name stays a name
 * (moderation/attribution.py: in_reader_language words them the same way). */
export function who(a) {
  if (a.kind === "function" && S[`role_${a.function}`]) return t(`role_${a.function}`);
  if (a.kind === "pseudonym" && a.sector) {
    const sector = sectorNames[a.sector] || a.label.split(" · ")[0];
    return t("pseudonym", { sector, number: a.number });
  }
  if (a.kind === "anonymous") return t("anonymous");
  return a.label;
}

/** A translated string with its %(name)s placeholders filled in. */
export function t(key, vars = {}) {
  const text = S[key] ?? key;
  // Python's %-format syntax, so the catalogues read like every other message ("%%" is "%").
  return text.replace(/%\((\w+)\)s|%%/g, (match, name) => (name ? String(vars[name] ?? "") : "%"));
}

export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function el(tag, { cls, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** A real button; `label` adds context for screen readers and starts with the visible text. */
export function button(text, onClick, { label, cls, key } = {}) {
  const b = el("button", { cls, text, attrs: { type: "button" } });
  if (label) b.setAttribute("aria-label", label);
  if (key) b.dataset.key = key;
  b.addEventListener("click", onClick);
  return b;
}

export function say(node, text) {
  if (node) node.textContent = text || "";
}

// A live region repeats a message only if its text changes: clear it first.
export function announce(node, text) {
  if (!node) return;
  node.textContent = "";
  setTimeout(() => { node.textContent = text; }, 60);
}

export function alertRoom(text) {
  announce($("room-alert"), text);
}

/** Redraw `container` with `render()`, putting keyboard focus back where it was. */
export function keepFocus(container, render) {
  const active = document.activeElement;
  const inside = container && active && container.contains(active);
  const key = inside ? active.dataset.key : null;
  render();
  if (!inside) return;
  const again = key && container.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (again && !again.disabled) again.focus();
  else container.closest("section")?.querySelector("h2, h3")?.focus();
}

export function showEmpty(listId) {
  const list = $(listId);
  const empty = $(`${listId}-empty`);
  if (list && empty) empty.hidden = list.childElementCount > 0;
}

export function consoleBox(name, ok) {
  return { status: $(`${name}-status`), error: $(`${name}-error`), ok };
}

// The server gives a mention's offsets in code points; a JS string counts UTF-16 units.
function pieces(text, mentions) {
  const chars = Array.from(text);
  const out = [];
  let pos = 0;
  for (const m of [...mentions].sort((a, b) => a.start - b.start)) {
    if (m.start < pos) continue;
    out.push([chars.slice(pos, m.start).join(""), false], [chars.slice(m.start, m.end).join(""), true]);
    pos = m.end;
  }
  out.push([chars.slice(pos).join(""), false]);
  return out;
}

/** Show `text` in `node` with the names the leak guard found in it marked (text nodes only). */
export function markNames(node, text, mentions) {
  node.replaceChildren(...pieces(text, mentions).map(([part, named]) => (named ? el("mark", { text: part }) : part)));
}

/** `text` with the names found in it taken out: where a redaction starts from. */
export function withoutNames(text, mentions) {
  return pieces(text, mentions).map(([part, named]) => (named ? "[…]" : part)).join("");
}
