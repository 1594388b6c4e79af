"""The live room's interface strings: every text its script (static/room/) writes, translated
into the reader's language when the page is rendered, with %(name)s placeholders."""

from __future__ import annotations

from django.utils.translation import gettext as _

from forum.models import Seat


def room_strings() -> dict[str, str]:
    """The strings for the room page's json_script, in the active language."""
    return {
        # connection
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "connected": _("Connected"),
        "offline_reconnecting": _("Offline — reconnecting in %(seconds)s s"),
        "refused_connection": _("Disconnected: access refused."),
        "offline_try_again": _("You are offline; try again once the page has reconnected."),
        "refused": _("The server refused this action."),
        # room status and settings
        "status_scheduled": _("Scheduled"),
        "status_live": _("Live"),
        "status_closed": _("Closed"),
        "floor_locked": _("Floor locked"),
        "premoderated": _("Pre-moderated"),
        "slow_mode_on": _("Slow mode: %(seconds)s s"),
        "agenda_now": _("The round table moves to the agenda item: %(title)s"),
        "minutes.saved": _("· version %(version)s of the minutes saved"),
        "minutes.review_opened": _(
            "· version %(version)s of the minutes is open for your comments"
        ),
        "minutes.review_closed": _("· the review of version %(version)s has ended"),
        "minutes.adoption_requested": _(
            "· version %(version)s of the minutes awaits the chair's adoption"
        ),
        "minutes.adopted": _("· version %(version)s of the minutes adopted"),
        # written contributions published while the page is open
        "contribution_number": _("Contribution %(number)s"),
        "executive_summary": _("Executive summary"),
        "contribution_attachment": _("Attachment (%(kind)s, %(size)s)"),
        # posting and the preview
        "sending": _("Sending…"),
        "posted": _("Posted."),
        "offline_will_send": _("Offline: will be sent on reconnect."),
        "post_empty": _("Write your intervention before posting it."),
        "post_refused": _("Your intervention was not posted."),
        "preview_empty": _("Nothing to preview yet."),
        "preview_failed": _("The preview is not available right now; you can still post."),
        # interventions
        "no_interventions": _("No interventions yet."),
        "kind_question": _("Question"),
        "kind_reply": _("Reply"),
        "kind_point_of_order": _("Point of order"),
        "redacted_by_moderator": _("Redacted by the moderator: %(reason)s"),
        "flag": _("Flag"),
        "flag_label": _("Flag this intervention by %(label)s for the moderators"),
        "flag_title": _("Flag an intervention for the moderators"),
        "flag_reason": _("Why should the moderators look at it?"),
        "flag_confirm": _("Send the flag"),
        "flag_thanks": _("Thank you: the moderators will look at it."),
        "flagged_times": _("Flags: %(count)s"),
        "an_intervention": _("An intervention"),
        # the dialog and reasons
        "reason_too_short": _("Give a reason of at least %(min)s characters."),
        # moderation of interventions
        "hide": _("Hide"),
        "hide_label": _("Hide the intervention by %(label)s"),
        "hide_title": _("Hide an intervention"),
        "hide_reason": _("Why hide this intervention? (recorded in the audit log)"),
        "hide_confirm": _("Hide it"),
        "hidden_done": _("Hidden."),
        "hidden_tag": _("hidden"),
        "hidden_why": _("Hidden: %(reason)s"),
        "redact": _("Redact"),
        "redact_label": _("Redact the intervention by %(label)s"),
        "redact_title": _("Redact an intervention"),
        "redact_text": _(
            "Readers will see your version and the reason; the original stays in the "
            "audit log only."
        ),
        "redact_reason": _("Reason for the redaction (shown to everyone)"),
        "redact_body": _("The redacted text (Markdown)"),
        "redact_confirm": _("Redact it"),
        "redacted_done": _("Redacted."),
        "restore": _("Restore"),
        "restore_label": _("Restore the intervention by %(label)s"),
        "restored_done": _("Restored."),
        "dismiss": _("Dismiss"),
        "dismiss_label": _("Dismiss the flags on the intervention by %(label)s"),
        "flag_dismissed": _("Dismissed from this list; the flags stay on the record."),
        "held_why": _("Held: %(reason)s"),
        "vouch_label": _(
            "Why is the marked text not a participant? (A common word that is also a surname, say; "
            "written to the audit log.)"
        ),
        "publish_as_written_title": _("Publish as written?"),
        "publish_as_written_text": _(
            "The check finds the names of participants in it (marked). Publish it as "
            "written only if "
            "they are not participants; otherwise publish a redacted version."
        ),
        "publish_as_written": _("Publish as written"),
        "alert_name_holds": _(
            "%(label)s: %(count)s texts held for naming someone within %(minutes)s "
            "minutes. Someone may be "
            "testing names against the list of participants."
        ),
        "dismiss_alert_label": _("Dismiss the alert about %(label)s"),
        "publish": _("Publish"),
        "publish_label": _("Publish the intervention by %(label)s"),
        "publish_redacted": _("Publish redacted"),
        "publish_redacted_label": _("Publish a redacted version of the intervention by %(label)s"),
        "publish_redacted_title": _("Publish a redacted version"),
        "published_done": _("Published."),
        "decline": _("Decline"),
        "decline_label": _("Decline the intervention by %(label)s"),
        "decline_title": _("Decline a held intervention"),
        "decline_reason": _("Reason for declining (sent to the author)"),
        "decline_confirm": _("Decline it"),
        "declined_done": _("Declined."),
        # seats
        "seat_button": _("Seat"),
        "seat_label": _("Seat actions for %(label)s"),
        "seat_chosen": _("Chosen seat: %(label)s"),
        "minutes_range": _("Give whole minutes, from 1 to 1,440."),
        "muted_done": _("%(label)s is muted for %(minutes)s min."),
        "unmute": _("Unmute"),
        "unmute_label": _("Unmute %(label)s"),
        "unmuted_done": _("%(label)s may speak again."),
        "removed_done": _("The seat of %(label)s is removed."),
        "revealed_intro": _("Shown to you alone; your look is in the audit log."),
        "revealed_done": _("The identity is shown in the console, to you alone."),
        "forget_identity": _("Hide these details"),
        "identity_name": _("Name"),
        "identity_email": _("E-mail"),
        "identity_organization": _("Organization"),
        "identity_sector": _("Sector"),
        "identity_role": _("Role"),
        "identity_erased": _(
            "This person's identity was erased on %(date)s: there is no name to show."
        ),
        "muted_until": _("%(label)s, muted until %(time)s"),
        "seat_muted_log": _("%(label)s was muted."),
        "seat_unmuted_log": _("%(label)s may speak again."),
        "seat_removed_log": _("The seat of %(label)s was removed."),
        "seat_revealed_log": _("%(by)s looked behind %(label)s."),
        # room controls
        "lock": _("Lock the floor"),
        "unlock": _("Unlock the floor"),
        "locked_done": _("The floor is locked: only the chair and moderators post."),
        "unlocked_done": _("The floor is unlocked."),
        "premoderation_on_done": _("Pre-moderation is on."),
        "premoderation_off_done": _("Pre-moderation is off."),
        "seconds_range": _("Give whole seconds, from 0 to 3,600."),
        "slow_mode_done": _("Slow mode: %(seconds)s s between a delegate's posts."),
        "slow_mode_off_done": _("Slow mode is off."),
        "close_room": _("Close the round table"),
        "reopen_room": _("Reopen the round table"),
        "close_title": _("Close the round table?"),
        "close_text": _(
            "Nobody can post or take the floor until it is reopened; the turn in progress ends."
        ),
        "reopen_title": _("Reopen the round table?"),
        "reopen_text": _("Delegates can post and ask for the floor again."),
        "closed_done": _("The round table is closed."),
        "reopened_done": _("The round table is open again."),
        # the floor
        "floor_mode_open": _("Open floor; turns of %(time)s."),
        "floor_mode_queued": _(
            "Queued floor: only the speaker posts statements; turns of %(time)s."
        ),
        "nobody_has_floor": _("Nobody has the floor."),
        "has_floor": _("%(label)s has the floor."),
        "you_have_floor": _("You have the floor."),
        "request_with_kind": _("%(label)s (%(kind)s)"),
        "request_yours": _("%(request)s: you"),
        "nobody_waiting": _("Nobody is waiting."),
        "waiting_count": _("Waiting for the floor: %(count)s"),
        "floor_given": _("%(label)s has the floor for %(time)s."),
        "turn_ended": _("The turn ended after %(time)s."),
        "thirty_seconds_left": _("30 seconds left for %(label)s."),
        "time_is_up": _("Time is up for %(label)s."),
        "time_up_short": _("Time is up."),
        "ending_soon": _("Less than 30 seconds left."),
        "hand_is_up": _("Your hand is raised."),
        "hand_raised_done": _("You asked for the floor."),
        "hand_lowered_done": _("Your hand is lowered."),
        "yielded_done": _("You yielded the floor."),
        "give_floor": _("Give the floor"),
        "give_floor_label": _("Give the floor to %(label)s"),
        "give_out_of_order": _("Give the floor out of order"),
        "give_out_of_order_title": _("Give the floor to %(label)s out of order"),
        "override_text": _("This overrides the parity order; it is written to the audit log."),
        "override_reason": _("Reason (recorded in the audit log)"),
        "move_up": _("Move up"),
        "move_up_label": _("Move up: %(label)s"),
        "move_up_title": _("Move %(label)s up the queue"),
        "move_down": _("Move down"),
        "move_down_label": _("Move down: %(label)s"),
        "move_down_title": _("Move %(label)s down the queue"),
        "moved_done": _("%(label)s is now at position %(position)s."),
        "remove_request": _("Remove"),
        "remove_request_label": _("Remove the request of %(label)s from the queue"),
        "remove_request_title": _("Remove the request of %(label)s"),
        "request_removed_done": _("The request of %(label)s is removed."),
        "floor_given_done": _("%(label)s has the floor."),
        "turn_ended_done": _("The turn is ended."),
        "turn_seconds_range": _("Give whole seconds, from 30 to 3,600."),
        "floor_mode_done": _("The floor is set."),
        # how speakers are named (moderation/attribution.py: in_reader_language)
        **{
            f"role_{role}": str(label)
            for role, label in Seat.Role.choices
            if role != Seat.Role.DELEGATE
        },
        "pseudonym": _("%(sector)s · Delegate %(number)s"),
        "anonymous": _("A participant"),
        # consensus checks
        "check_open": _("Open"),
        "check_voters": _("Open · votes cast: %(count)s"),
        "your_ballot": _("Your ballot"),
        "ballot_recorded": _("Your ballot is recorded; you may change it until the check closes."),
        "option_support": _("Support"),
        "option_live": _("Can live with it"),
        "option_object": _("Object"),
        "close_check": _("Close the check"),
        "close_check_label": _("Close the check: %(proposition)s"),
        "consensus": _("Consensus"),
        "no_consensus": _("No consensus"),
        "weighted": _("weighted: %(shares)s"),
        "share": _("%(option)s %(percent)s%%"),
        "proposition_required": _("Write the proposition before opening a check."),
        "check_opened_done": _("The check is open."),
        "check_closed_done": _("The check is closed; its result is shown."),
        # a result's reasons, by code (forum/tally.py: explain words them the same way)
        "why_nobody_voted": _("Nobody voted."),
        "why_figures_withheld": _(
            "Some figures are not shown: they would describe a single voter."
        ),
        "why_majority": _("%(option)s holds %(share)s of the weight, more than half."),
        "why_no_majority": _("No option holds more than half of the weight."),
        "why_support_reached": _(
            "Weighted support is %(support)s, at least the threshold of %(threshold)s."
        ),
        "why_support_short": _(
            "Weighted support is %(support)s, below the threshold of %(threshold)s."
        ),
        "why_sectors_block": _("A majority of the voters of %(sectors)s object."),
        "why_sectors_object": _(
            "A majority of the voters of %(sectors)s object (this rule lets it pass)."
        ),
        # ... when sectors the reader may not see named object too, or alone
        "why_sectors_block_and_pooled": _(
            "A majority of the voters of %(sectors)s, and of at least one sector among the other "
            "participants, object."
        ),
        "why_sectors_block_pooled": _(
            "A majority of the voters of at least one sector among the other participants object."
        ),
        "why_sectors_object_and_pooled": _(
            "A majority of the voters of %(sectors)s, and of at least one sector among "
            "the other participants, "
            "object (this rule lets it pass)."
        ),
        "why_sectors_object_pooled": _(
            "A majority of the voters of at least one sector among the other "
            "participants object (this rule "
            "lets it pass)."
        ),
        # recommendations
        "addressed_to": _("To: %(audience)s"),
        "audience_rigos": _("Regional intergovernmental organizations"),
        "audience_csos": _("Civil society organizations"),
        "audience_un": _("The United Nations"),
        "audience_states": _("States"),
        "audience_private-sector": _("The private sector"),
        "recommendation_required": _("Write the recommendation before saving it."),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        # parity and presence
        "parity_caption": _("Turns, speaking time and words per sector"),
        "parity_sector": _("Sector"),
        "parity_turns": _("Turns"),
        "parity_time": _("Time"),
        "parity_words": _("Words"),
        "balance": _("Balance index: %(index)s (1 = equal speaking time)"),
        # Equal shares of nothing are not balance: before anyone had the floor there is no index.
        "balance_unused": _("Balance index: not used yet (nobody has had the floor)"),
        "parity_unavailable": _("Parity figures unavailable."),
        "presence_sector": _("%(sector)s: %(count)s"),
        "presence_others": _("Chair, rapporteur and observers: %(others)s · total %(total)s"),
        # the agenda
        "agenda_current": _("current"),
        "agenda_make_current": _("Make current"),
        "agenda_make_current_label": _("Make current: %(title)s"),
        "agenda_move_up_label": _("Move up: %(title)s"),
        "agenda_moved_done": _("%(title)s is now item %(position)s."),
        "agenda_rename": _("Rename"),
        "agenda_rename_label": _("Rename: %(title)s"),
        "agenda_rename_title": _("Rename the agenda item “%(title)s”"),
        "agenda_title": _("Title of the agenda item"),
        "agenda_renamed_done": _("The item is renamed."),
        "agenda_added_done": _("The item is added to the agenda."),
        "agenda_title_required": _("Write the title of the item before adding it."),
        # hybrid rooms
        "request_by_chair": _("%(request)s, raised by the chair"),
        "raised_by_chair": _("raised by the chair"),
        "kind_in_room": _("Spoke in the room"),
        "proxy_raised_done": _("A hand is raised for %(label)s."),
        "spoke_recorded_done": _("Recorded: %(label)s spoke."),
        "note_required": _("Write a short note of what was said."),
        # alerts
        "you_have_floor_banner": _("You have the floor: %(time)s."),
        "check_opened_banner": _("A consensus check is open: %(proposition)s"),
        "waiting_badge": _("Waiting for you: %(count)s"),
    }
