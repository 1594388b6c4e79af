// The venue screen: the floor with its countdown, the queue, the open consensus check and
// the current agenda item, in large type. It reads the same socket as the room page (as
// participants read it) and places only those events; it never sends anything but what
// socket.js sends to stay gapless.

import { $ } from "./page.js";
import { showFloor, showFloorMode } from "./floor.js";
import { connect } from "./socket.js";
import { announce, say, t } from "./util.js";

let openCheck = "";

function showItem(id, title) {
  const item = $("current-item");
  item.dataset.item = id;
  item.textContent = title;
}

function place(frame, live) {
  const d = frame.data;
  switch (frame.kind) {
    case "agenda.current_changed":
      showItem(d.agenda_item, d.title);
      if (live) announce($("floor-live"), t("agenda_now", { title: d.title }));
      break;
    case "agenda.changed": {
      const current = d.items.find((i) => i.id === d.current);
      if (current) showItem(current.id, current.title);
      break;
    }
    case "floor.hand_raised":
    case "floor.hand_lowered":
    case "floor.given":
    case "floor.turn_ended":
    case "floor.request_moved":
    case "floor.request_removed":
    case "floor.mode_changed":
      showFloor(frame.kind, d, live);
      break;
    case "consensus.opened":
      openCheck = d.check;
      say($("check-proposition"), d.proposition);
      say($("check-votes"), t("screen_votes", { count: 0 }));
      break;
    case "consensus.voted":
      if (d.check === openCheck) say($("check-votes"), t("screen_votes", { count: d.voters }));
      break;
    case "consensus.closed":
      if (d.check === openCheck) {
        openCheck = "";
        say($("check-proposition"), "");
        say($("check-votes"), t("no_open_check"));
      }
      break;
    default:
      break;  // interventions and the rest: not for the screen
  }
}

showFloorMode();
connect({ welcome: () => {}, event: place, frame: () => {} });
