// Alerts that reach people: a banner at the top of the page (a live region) when this
// delegate gets the floor and, for every reader, when a consensus check opens; an optional
// short sound (off until the reader turns it on, remembered in this browser); and, for the
// chair and moderators, a count of what waits for them (held posts, flags, raised hands) on
// the console switcher and in the tab's title.

import { $, moderates } from "./page.js";
import { announce, say, t } from "./util.js";

const SOUND = "roundtables:sound";
const baseTitle = document.title;
let audio = null;

function soundOn() {
  try { return localStorage.getItem(SOUND) === "on"; } catch { return false; }
}

function beep() {
  if (!soundOn()) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch { /* no audio here: the banner says it */ }
}

/** Show `text` in the banner at the top of the page, and beep if the reader asked for it. */
export function banner(text) {
  const box = $("banner");
  if (!box) return;
  box.hidden = false;
  announce($("banner-text"), text);
  beep();
}

function countWaiting() {
  const n = ["held", "flags", "console-queue"].reduce((sum, id) => sum + ($(id)?.childElementCount || 0), 0);
  const badge = $("console-badge");
  if (badge) {
    badge.hidden = n === 0;
    say(badge, String(n));
    badge.setAttribute("aria-label", t("waiting_badge", { count: n }));
  }
  document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
}

export function setupAlerts() {
  const toggle = $("sound-toggle");
  if (toggle) {
    toggle.checked = soundOn();
    toggle.addEventListener("change", () => {
      try { localStorage.setItem(SOUND, toggle.checked ? "on" : "off"); } catch { /* this page only */ }
      if (toggle.checked) beep();  // a user gesture lets the browser start audio
    });
  }
  $("banner-close")?.addEventListener("click", () => { $("banner").hidden = true; });
  if (!moderates) return;
  const watch = new MutationObserver(countWaiting);
  for (const id of ["held", "flags", "console-queue"]) {
    if ($(id)) watch.observe($(id), { childList: true });
  }
  countWaiting();
}
