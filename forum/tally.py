"""The tally of a consensus check: every sector weighs the same, whatever its head count.

Pure functions, no database: `tally()` takes the ballots as (sector slug, option key) pairs
and returns what `ConsensusCheck.result`, the `consensus.closed` event and the minutes show.

The weighting rule
------------------
Every sector with at least one ballot weighs 1/S, where S is the number of sectors with at
least one ballot, and that weight is split evenly between the sector's voters: a delegate of a
sector of ten weighs 1/(10 S), the only voter of a sector of one weighs 1/S.

Why S counts the sectors that voted, not all the sectors seated in the room: a sector that
does not vote would otherwise hold 1/S of the weight on no option at all, so every abstention
would lower the share of every option and make a threshold harder to reach for the sectors
that did take part; an abstention would act as a silent objection. Abstaining is not
objecting (a sector that objects says so, and its majority objection blocks). Abstaining
sectors are still named in the result (`abstaining_sectors`), for the minutes.

Arithmetic is exact (fractions); shares are turned into floats only in the result, and the
threshold is compared exactly (a share of exactly 3/5 meets a threshold of 0.6).

Rules
-----
- `{"kind": "consensus", "support": [keys], "threshold": t, "objection": key | None,
  "sector_objection_blocks": bool}` (the default, on the consensus scale): consensus when the
  weighted share of the support options is at least t and, if sector_objection_blocks, no
  sector objects by majority (more than half of its voters chose the objection option; a
  sector split 50/50 does not block).
- `{"kind": "threshold", "support": [keys], "threshold": t}`: consensus when the weighted
  share of the support options is at least t.
- `{"kind": "majority"}` (the default for custom options): consensus when one option holds
  more than half of the weight; that option is `decided`.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from fractions import Fraction

from django.utils import translation
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from moderation.disclosure import POOLED, Disclosure

CONSENSUS = "consensus"
NO_CONSENSUS = "no consensus"

CONSENSUS_SCALE = (
    {"key": "support", "label": "Support"},
    {"key": "live", "label": "Can live with it"},
    {"key": "object", "label": "Object"},
)
DEFAULT_RULE = {
    "kind": "consensus",
    "support": ["support", "live"],
    "threshold": 0.6,
    "objection": "object",
    "sector_objection_blocks": True,
}
MAJORITY_RULE = {"kind": "majority"}

MIN_OPTIONS, MAX_OPTIONS = 2, 8
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")  # Ballot.option holds 40 characters
MAX_LABEL_CHARS = 200
RULE_KEYS = {
    "consensus": {"kind", "support", "threshold", "objection", "sector_objection_blocks"},
    "threshold": {"kind", "support", "threshold"},
    "majority": {"kind"},
}


# -- validation ----------------------------------------------------------------------------


def _invalid_options(message: str) -> ServiceError:
    return ServiceError("invalid_options", message, field="options")


def _invalid_rule(message: str) -> ServiceError:
    return ServiceError("invalid_rule", message, field="rule")


def clean_options(options: object) -> list[dict]:
    """The options as [{"key", "label"}], or `invalid_options`.

    2 to 8 options; a key is 1 to 40 lowercase letters, digits, `-` or `_` (starting with a
    letter or digit) and unique; a label is plain text of 1 to 200 characters.
    """
    if not isinstance(options, list | tuple):
        raise _invalid_options(_("Options are a list of {key, label} objects."))
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise _invalid_options(
            _("A check has %(min)s to %(max)s options, not %(count)s.")
            % {"min": MIN_OPTIONS, "max": MAX_OPTIONS, "count": len(options)}
        )
    cleaned, seen = [], set()
    for number, option in enumerate(options, start=1):
        if not isinstance(option, dict) or set(option) != {"key", "label"}:
            raise _invalid_options(
                _("Option %(number)s must be an object with exactly a key and a label.")
                % {"number": number}
            )
        key, label = option["key"], option["label"]
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise _invalid_options(
                _("Option %(number)s: the key is 1 to 40 lowercase letters, digits, '-' or '_'.")
                % {"number": number}
            )
        if key in seen:
            raise _invalid_options(
                _("Option %(number)s: the key %(key)s is used twice.")
                % {"number": number, "key": repr(key)}
            )
        if not isinstance(label, str) or not label.strip():
            raise _invalid_options(
                _("Option %(number)s: the label may not be empty.") % {"number": number}
            )
        label = " ".join(label.split())
        if len(label) > MAX_LABEL_CHARS:
            raise _invalid_options(
                _("Option %(number)s: the label is longer than %(limit)s characters.")
                % {"number": number, "limit": MAX_LABEL_CHARS}
            )
        seen.add(key)
        cleaned.append({"key": key, "label": label})
    return cleaned


def _threshold(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise _invalid_rule(_("The threshold is a number above 0 and at most 1 (for example 0.6)."))
    return float(value)


def _support(value: object, keys: list[str]) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise _invalid_rule(_("`support` lists the option keys that count as support."))
    for key in value:
        if key not in keys:
            raise _invalid_rule(
                _("`support` names %(key)s, which is not an option of this check.")
                % {"key": repr(key)}
            )
    if len(set(value)) != len(value):
        raise _invalid_rule(_("`support` names an option twice."))
    return list(value)


def clean_rule(rule: object, options: list[dict]) -> dict:
    """The rule, complete and checked against the (cleaned) options, or `invalid_rule`."""
    keys = [option["key"] for option in options]
    if not isinstance(rule, dict):
        raise _invalid_rule(
            _("The rule is an object with a `kind`: consensus, threshold or majority.")
        )
    kind = rule.get("kind")
    if kind not in RULE_KEYS:
        raise _invalid_rule(_("The rule's `kind` is one of consensus, threshold, majority."))
    unknown = set(rule) - RULE_KEYS[kind]
    if unknown:
        raise _invalid_rule(
            _("A %(kind)s rule does not take %(fields)s.")
            % {"kind": kind, "fields": ", ".join(sorted(map(str, unknown)))}
        )
    if kind == "majority":
        return {"kind": "majority"}
    cleaned = {
        "kind": kind,
        "support": _support(rule.get("support"), keys),
        "threshold": _threshold(rule.get("threshold")),
    }
    if kind == "threshold":
        return cleaned
    objection = rule.get("objection")
    if objection is not None and objection not in keys:
        raise _invalid_rule(
            _("`objection` names %(key)s, which is not an option of this check.")
            % {"key": repr(objection)}
        )
    if objection is not None and objection in cleaned["support"]:
        raise _invalid_rule(_("The objection option cannot also count as support."))
    blocks = rule.get("sector_objection_blocks", objection is not None)
    if not isinstance(blocks, bool):
        raise _invalid_rule(_("`sector_objection_blocks` is true or false."))
    if blocks and objection is None:
        raise _invalid_rule(_("`sector_objection_blocks` needs an `objection` option."))
    return {**cleaned, "objection": objection, "sector_objection_blocks": blocks}


def clean_check(options: object = None, rule: object = None) -> tuple[list[dict], dict]:
    """(options, rule) of a new check: the consensus scale and its default rule when no
    options are given; custom options default to the majority rule."""
    if options is None:
        options = [dict(option) for option in CONSENSUS_SCALE]
        default = DEFAULT_RULE
    else:
        options = clean_options(options)
        default = MAJORITY_RULE
    return options, clean_rule(default if rule is None else rule, options)


# -- the tally -----------------------------------------------------------------------------


def _exact(threshold: float) -> Fraction:
    # Through the shortest decimal, so that 0.6 means 3/5 and not the float just below it.
    return Fraction(repr(float(threshold)))


def tally(
    ballots: Iterable[tuple[str, str]], sectors: list[str], options: list[str], rule: dict
) -> dict:
    """Weigh `ballots` (one (sector slug, option key) per voter) and apply `rule`.

    `sectors` are the participating sectors, in display order; `options` the option keys.
    A ballot of another sector or option is a ValueError (the caller's bug, never input).
    """
    if len(set(sectors)) != len(sectors):
        raise ValueError("a sector is listed twice")
    counts: dict[str, Counter] = {sector: Counter() for sector in sectors}
    for sector, option in ballots:
        if sector not in counts:
            raise ValueError(f"ballot of a sector that does not take part: {sector!r}")
        if option not in options:
            raise ValueError(f"ballot for an unknown option: {option!r}")
        counts[sector][option] += 1

    voting = [sector for sector in sectors if counts[sector]]
    weight = Fraction(1, len(voting)) if voting else Fraction(0)
    shares = {option: Fraction(0) for option in options}
    for sector in voting:
        voters = sum(counts[sector].values())
        for option, count in counts[sector].items():
            shares[option] += weight * Fraction(count, voters)

    result = {
        "rule": copy.deepcopy(rule),
        "options": list(options),
        "voters": sum(sum(c.values()) for c in counts.values()),
        "sector_weight": float(weight),
        "weighted": {option: float(share) for option, share in shares.items()},
        "sectors": {
            sector: {
                "voters": sum(counts[sector].values()),
                "weight": float(weight) if counts[sector] else 0.0,
                "distribution": {option: counts[sector][option] for option in options},
            }
            for sector in sectors
        },
        "voting_sectors": voting,
        "abstaining_sectors": [sector for sector in sectors if not counts[sector]],
        "blocking_sectors": [],
        "support": None,
        "decided": None,
    }
    # Each reason as a code and its figures (`explanations`), so every reader and the minutes
    # can word it in their own language; `reasons` is the same in English, as stored before.
    explanations: list[dict] = []
    reached = False
    if not voting:
        explanations.append({"code": "nobody_voted"})
    elif rule["kind"] == "majority":
        leader = max(options, key=lambda option: shares[option])
        if shares[leader] * 2 > 1:
            reached, result["decided"] = True, leader
            explanations.append(
                {"code": "majority", "option": leader, "share": float(shares[leader])}
            )
        else:
            explanations.append({"code": "no_majority"})
    else:
        support = sum((shares[option] for option in rule["support"]), Fraction(0))
        needed = _exact(rule["threshold"])
        result["support"] = float(support)
        reached = support >= needed
        explanations.append(
            {
                "code": "support_reached" if reached else "support_short",
                "support": float(support),
                "threshold": float(needed),
            }
        )
        if rule["kind"] == "consensus" and rule["objection"] is not None:
            objection = rule["objection"]
            # By majority: more than half of the sector's voters; a sector split evenly does not
            # block.
            blocking = [
                sector
                for sector in voting
                if counts[sector][objection] * 2 > sum(counts[sector].values())
            ]
            result["blocking_sectors"] = blocking
            if blocking and rule["sector_objection_blocks"]:
                reached = False
                explanations.append({"code": "sectors_block", "sectors": blocking})
            elif blocking:
                explanations.append({"code": "sectors_object", "sectors": blocking})
    result["outcome"] = CONSENSUS if reached else NO_CONSENSUS
    result["explanations"] = explanations
    with translation.override("en"):
        result["reasons"] = [explain(e) for e in explanations]
    return result


def explain(
    explanation: dict,
    sector_names: dict[str, str] | None = None,
    option_labels: dict[str, str] | None = None,
) -> str:
    """One reason of a result as a sentence in the active language (`sector_names` and
    `option_labels` word slugs and keys; they stay as they are without them)."""
    names = sector_names or {}
    labels = option_labels or {}
    code = explanation["code"]
    if code == "figures_withheld":
        return _("Some figures are not shown: they would describe a single voter.")
    if code == "nobody_voted":
        return _("Nobody voted.")
    if code == "majority":
        option = explanation["option"]
        return _("%(option)s holds %(share)s of the weight, more than half.") % {
            "option": labels.get(option, repr(option)),
            "share": percent(explanation["share"]),
        }
    if code == "no_majority":
        return _("No option holds more than half of the weight.")
    if code in ("support_reached", "support_short"):
        words = {
            "support_reached": _(
                "Weighted support is %(support)s, at least the threshold of %(threshold)s."
            ),
            "support_short": _(
                "Weighted support is %(support)s, below the threshold of %(threshold)s."
            ),
        }
        return words[code] % {
            "support": percent(explanation["support"]),
            "threshold": percent(explanation["threshold"]),
        }
    named = [slug for slug in explanation["sectors"] if slug != POOLED]
    sectors = ", ".join(names.get(slug, slug) for slug in named)
    # POOLED: sectors a reader may not see named (moderation/disclosure.py), said without a name.
    pooled = POOLED in explanation["sectors"]
    if code == "sectors_block":
        if pooled and not named:
            return _(
                "A majority of the voters of at least one sector among the other "
                "participants object."
            )
        if pooled:
            return _(
                "A majority of the voters of %(sectors)s, and of at least one sector "
                "among the other "
                "participants, object."
            ) % {"sectors": sectors}
        return _("A majority of the voters of %(sectors)s object.") % {"sectors": sectors}
    if pooled and not named:
        return _(
            "A majority of the voters of at least one sector among the other "
            "participants object (this rule "
            "lets it pass)."
        )
    if pooled:
        return _(
            "A majority of the voters of %(sectors)s, and of at least one sector among "
            "the other participants, "
            "object (this rule lets it pass)."
        ) % {"sectors": sectors}
    return _("A majority of the voters of %(sectors)s object (this rule lets it pass).") % {
        "sectors": sectors
    }


def disclose_result(result: dict, disclosure: Disclosure) -> dict:
    """A check's result as a reader who sees `disclosure` may read it.

    The sectors not shown are summed into the pooled group (`POOLED`) in `sectors`,
    `voting_sectors`, `abstaining_sectors`, `blocking_sectors` and the reasons. Nothing is
    shown for a group that would describe one voter (`withheld_groups`): not its figures, not
    as voting, abstaining or blocking, not in a reason; a reason `figures_withheld` says that
    something was left out. The weighted shares, the support, the outcome and the number of
    voters are the room's and stay as they are.
    """
    if disclosure.full or not result or "sectors" not in result:
        return result
    per_sector = result["sectors"]
    groups = [(key, members) for key, members in disclosure.groups(per_sector) if members]
    options = result.get("options") or []
    figures = {}
    for key, members in groups:
        rows = [per_sector[slug] for slug in members]
        figures[key] = {
            "voters": sum(f["voters"] for f in rows),
            "weight": sum(f["weight"] for f in rows),
            "distribution": {
                option: sum(f["distribution"].get(option, 0) for f in rows) for option in options
            },
        }
    unlisted = result.get("voters", 0) - sum(f["voters"] for f in figures.values())
    withheld = withheld_groups({key: f["voters"] for key, f in figures.items()}, unlisted)
    listed = [(key, members) for key, members in groups if key not in withheld]
    out = copy.deepcopy(result)
    out["sectors"] = {key: figures[key] for key, _ in listed}
    out["voting_sectors"] = [key for key, _ in listed if figures[key]["voters"]]
    out["abstaining_sectors"] = [key for key, _ in listed if not figures[key]["voters"]]
    group_of = {slug: key for key, members in listed for slug in members}

    def keys(slugs: list[str]) -> list[str]:
        # Each sector as its listed group says it; a sector of a group left out is not said.
        said = [group_of[slug] for slug in slugs if slug in group_of]
        return [key for key in dict.fromkeys(said) if key != POOLED] + (
            [POOLED] if POOLED in said else []
        )

    out["blocking_sectors"] = keys(result.get("blocking_sectors", []))
    if "explanations" in result:
        explanations = []
        for e in result["explanations"]:
            if e["code"] in ("sectors_block", "sectors_object"):
                e = {**e, "sectors": keys(e["sectors"])}
                if not e["sectors"]:
                    continue
            explanations.append(e)
        if withheld or unlisted:
            explanations.append({"code": "figures_withheld"})
        out["explanations"] = explanations
        with translation.override("en"):
            out["reasons"] = [explain(e) for e in explanations]
    else:
        # A result stored before reasons were kept as codes: its sentences name sectors.
        out["reasons"] = [
            reason for reason in result.get("reasons", []) if " of the voters of " not in reason
        ]
    return out


def withheld_groups(voters: dict[str, int], unlisted: int = 0) -> set[str]:
    """The groups (key -> voters, in display order) whose figures describe one person, and
    what must go with them. A group of exactly one voter is left out; then, while the ballots
    left out (`unlisted`: those of no group at all, plus the groups left out) are exactly one,
    the smallest group that voted is left out too, or the total minus what is shown would
    be that one ballot. When anything is left out, so are the groups that did not vote: the
    list of those left would point at the one that did."""
    withheld = {key for key, n in voters.items() if n == 1}
    hidden = unlisted + len(withheld)
    while hidden == 1:
        voted = [key for key, n in voters.items() if n and key not in withheld]
        if not voted:
            break
        smallest = min(voted, key=lambda key: voters[key])
        withheld.add(smallest)
        hidden += voters[smallest]
    if hidden:
        withheld |= {key for key, n in voters.items() if not n}
    return withheld


def percent(share: float | Fraction) -> str:
    return f"{float(share) * 100:.1f}%".replace(".0%", "%")
