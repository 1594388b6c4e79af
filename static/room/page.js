// What the server put in the page: the room, the reader's role, and every word this
// script may show (`ui-strings`, translated by Django). Read once; modules are deferred,
// so the document is parsed by the time this runs.

export const root = document.getElementById("room");
export const slug = root.dataset.slug;
export const role = root.dataset.role;
export const S = JSON.parse(document.getElementById("ui-strings").textContent);
export const sectorNames = JSON.parse(document.getElementById("sector-names").textContent);
// Where a sector this reader may not see named would stand (moderation/disclosure.py: POOLED);
// `sectorNames` names it "Other participants" in the reader's language.
export const POOLED = "~pooled";
export const $ = (id) => document.getElementById(id);
// Times in the page's language (the switcher's), not the browser's.
export const LANG = document.documentElement.lang || undefined;

// Delegates and the rapporteur may flag an intervention for the moderators.
export const canFlag = ["delegate", "rapporteur"].includes(role);
export const moderates = root.dataset.audience === "moderators";
export const isDelegate = role === "delegate";
