// Who is in the room and how the floor was shared: parity figures are a projection of the
// log, fetched after floor and intervention events; presence comes from the socket.

import { $, sectorNames, slug } from "./page.js";
import { setClockOffset } from "./floor.js";
import { clock, el, t } from "./util.js";

let parityTimer = null;
let clockChecked = false;

export function refreshParity() {
  clearTimeout(parityTimer);
  parityTimer = setTimeout(async () => {
    const box = $("parity");
    try {
      const response = await fetch(`/rooms/${slug}/parity.json`, { credentials: "same-origin" });
      if (!clockChecked) {
        // A turn replayed on load has no live start to set the clock by: use the server's Date.
        clockChecked = true;
        const server = Date.parse(response.headers.get("Date") || "");
        const offset = server + 500 - Date.now();
        if (!Number.isNaN(offset) && Math.abs(offset) > 2000) setClockOffset(offset);
      }
      // Split only by the sectors this reader may see; the others come pooled (moderation/disclosure.py).
      const data = await response.json();
      const table = el("table");
      table.append(el("caption", { cls: "visually-hidden", text: t("parity_caption") }));
      const head = table.createTHead().insertRow();
      for (const key of ["parity_sector", "parity_turns", "parity_time", "parity_words"]) {
        head.append(el("th", { text: t(key), attrs: { scope: "col" } }));
      }
      const body = table.createTBody();
      for (const s of data.sectors) {
        const f = data.room.sectors[s.slug] || {};
        const row = body.insertRow();
        row.append(el("th", { text: sectorNames[s.slug] || s.name, attrs: { scope: "row" } }));
        for (const v of [f.turns ?? 0, clock(f.speaking_seconds ?? 0), f.words ?? 0]) {
          row.insertCell().textContent = v;
        }
      }
      // Nobody has had the floor yet: an index of 1.00 would claim a balance of nothing.
      const used = data.sectors.some((s) => {
        const f = data.room.sectors[s.slug] || {};
        return (f.turns ?? 0) > 0 || (f.speaking_seconds ?? 0) > 0;
      });
      const text = used && data.room.balance != null
        ? t("balance", { index: data.room.balance.toFixed(2) })
        : t("balance_unused");
      const balance = el("p", { text });
      box.classList.remove("muted");
      box.replaceChildren(table, balance);
    } catch {
      box.textContent = t("parity_unavailable");
    }
  }, 800);
}

export function showPresence(frame) {
  const list = $("presence");
  list.replaceChildren(
    ...Object.entries(frame.sectors).map(([sector, count]) =>
      el("li", { text: t("presence_sector", { sector: sectorNames[sector] || sector, count }) })),
    el("li", { cls: "muted", text: t("presence_others", { others: frame.others, total: frame.total }) }),
  );
}
