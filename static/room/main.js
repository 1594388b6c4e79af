// The live room: one websocket, gapless by seq, reconnecting with ?after=<last seq>.
// Events are rendered by the server (body_html is sanitised there); these modules only
// place them. Every word shown comes from the page's translated `ui-strings`.
// No build step: the browser loads these ES modules as they are (room.html).
//
// main.js reads the frames and sends each to the part of the page it concerns:
//   page.js     what the server put in the page (room, role, translated strings)
//   util.js     words, labels, elements, live regions, focus
//   socket.js   the connection: resume by seq, reconnect, answers to `ref`
//   dialog.js   the reason dialog
//   post.js     the post box, its preview, consent to the rule
//   stream.js   the interventions and what may be done to one
//   console.js  held, flagged and hidden interventions (moderators)
//   seats.js    a seat: mute, remove, reveal (moderators)
//   settings.js the room's settings and status
//   floor.js    hands, queue, speaker and countdown
//   checks.js, recommendations.js, parity.js
//   agenda.js   the current item and, for moderators, the console's agenda
//   contributions.js  written contributions published while the page is open
//   hybrid.js   hands raised and turns recorded for delegates in the meeting room
//   alerts.js   the banner, the optional sound, the moderators' count of what waits
// Imports form no cycle: main.js calls the parts, the parts call socket.js, dialog.js and
// util.js (console.js also stream.js and seats.js, stream.js and floor.js seats.js,
// parity.js floor.js), and page.js imports nothing.

import { $, root } from "./page.js";
import { setupAgenda, showAgenda } from "./agenda.js";
import { banner, setupAlerts } from "./alerts.js";
import { showCheck, setupCheckForm } from "./checks.js";
import {
  interventionHidden, interventionShown, removeHeld, showAlert, showFlag, showHeld,
} from "./console.js";
import { showContribution } from "./contributions.js";
import { setupDialog } from "./dialog.js";
import { setupFloorControls, showFloor, showFloorMode } from "./floor.js";
import { setupHybrid } from "./hybrid.js";
import { refreshParity, showPresence } from "./parity.js";
import {
  acknowledged, consentGiven, postRefused, setupConsent, setupPostForm, showConsent, showNotice,
} from "./post.js";
import { setupRecForm, showRecommendation } from "./recommendations.js";
import { setupSeatPanel, showSeatEvent } from "./seats.js";
import { setupRoomControls, showSettings, showStatus } from "./settings.js";
import { connect } from "./socket.js";
import { hideIntervention, redactIntervention, showIntervention } from "./stream.js";
import { alertRoom, say, showEmpty, t } from "./util.js";

function welcome(frame) {
  $("you-label").textContent = frame.you.attribution;
  showConsent(frame.you.consented);
}

// The frames socket.js does not keep for itself: not events, not answers to a `ref`.
function handle(frame) {
  switch (frame.type) {
    case "ack":
      acknowledged(frame);
      break;
    case "notice":
      showNotice(frame.message);
      break;
    case "consented":
      consentGiven();
      break;
    case "presence":
      showPresence(frame);
      break;
    case "error":
      if (!postRefused(frame)) alertRoom(frame.message || t("refused"));
      break;
    default:
      break;
  }
}

function place(frame, live) {
  const d = frame.data;
  switch (frame.kind) {
    case "intervention.held":
      showHeld(frame.seq, d);
      if (d.alert) showAlert(d.alert, live);
      break;
    case "text.held":
      // The alert rides on the hold's own event, so that a hold is one seq whatever it raised.
      if (d.alert) showAlert(d.alert, live);
      break;
    case "intervention.rejected":
      removeHeld(d.id);
      break;
    case "intervention.flagged":
      showFlag(d);
      break;
    case "intervention.posted":
    case "intervention.restored":
      showIntervention(frame.seq, d);
      interventionShown(d.id);
      refreshParity();
      break;
    case "intervention.hidden":
      hideIntervention(d);
      interventionHidden(d);
      break;
    case "intervention.redacted":
      redactIntervention(d);
      break;
    case "seat.alert": // written by earlier versions
      showAlert(d, live);
      break;
    case "seat.muted":
    case "seat.unmuted":
    case "seat.removed":
    case "seat.revealed":
      showSeatEvent(frame.kind, d);
      break;
    case "agenda.current_changed":
    case "agenda.changed":
      showAgenda(frame.kind, d, live);
      break;
    case "floor.hand_raised":
    case "floor.hand_lowered":
    case "floor.given":
    case "floor.turn_ended":
    case "floor.request_moved":
    case "floor.request_removed":
    case "floor.mode_changed":
      showFloor(frame.kind, d, live);
      refreshParity();
      break;
    case "consensus.opened":
    case "consensus.voted":
    case "consensus.closed":
      showCheck(frame.kind, d);
      if (frame.kind === "consensus.opened" && live) banner(t("check_opened_banner", { proposition: d.proposition }));
      break;
    case "recommendation.saved":
    case "recommendation.deleted":
      showRecommendation(frame.kind, d);
      break;
    case "contribution.published":
      showContribution(d);
      break;
    case "room.settings_changed":
      showSettings(d);
      break;
    case "room.status_changed":
      showStatus(d.status);
      break;
    case "minutes.saved":
    case "minutes.review_opened":
    case "minutes.review_closed":
    case "minutes.adoption_requested":
    case "minutes.adopted":
      say($("minutes-status"), t(frame.kind, { version: d.version }));
      break;
    default:
      break;  // redacted stubs and kinds this page does not show
  }
}

setupDialog();
setupConsent();
setupPostForm();
setupFloorControls();
setupSeatPanel();
setupRoomControls();
setupCheckForm();
setupRecForm();
setupAgenda();
setupHybrid();
setupAlerts();
showFloorMode();
showStatus(root.dataset.status);
const LISTS = ["stream", "held", "flags", "hidden-list", "muted", "console-queue", "checks",
  "recommendations", "alerts", "console-agenda"];
for (const id of LISTS) showEmpty(id);
connect({ welcome, event: place, frame: handle });
refreshParity();
