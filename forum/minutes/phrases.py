"""How the minutes name speakers, sectors and options in the active language: the phrases
every format prints ("A participant from the private sector asked:") and the Akoma Ntoso reads
back to its language-independent references."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from forum.models import Intervention, RoundTable, Seat
from forum.tally import CONSENSUS_SCALE
from moderation.attribution import FUNCTION_LABELS

# The default sectors' names (forum/services/rooms.py: DEFAULT_SECTORS) and consensus scale
# labels (forum/tally.py: CONSENSUS_SCALE) are data, stored in English: the minutes translate
# them when they project them, so the catalogs need an entry for each. Other names stay as
# they were written.
DEFAULT_SECTOR_NAMES = frozenset(
    {
        gettext_noop("Government"),
        gettext_noop("Intergovernmental"),
        gettext_noop("Civil society"),
        gettext_noop("Private sector"),
        gettext_noop("Academia"),
    }
)
DEFAULT_OPTION_LABELS = {option["key"]: option["label"] for option in CONSENSUS_SCALE}
_OPTION_LABELS = (gettext_noop("Support"), gettext_noop("Can live with it"), gettext_noop("Object"))

# Languages whose common nouns are lowercase inside a sentence: "A participant from civil
# society", "Un participante de la sociedad civil".
_LOWERCASE_SECTOR_IN = frozenset({"en", "es", "fr", "pt"})


def _lower_first(name: str) -> str:
    # "Civil society" -> "civil society", but "UN agencies" stays.
    if len(name) > 1 and name[1].isupper():
        return name
    return name[:1].lower() + name[1:]


def sector_name(name: str) -> str:
    """A sector's name in the active language: a default sector's translated, others as is."""
    return _(name) if name in DEFAULT_SECTOR_NAMES else name


def option_label(key: str, label: str) -> str:
    """A consensus option's label in the active language (the default scale's, translated)."""
    return _(label) if DEFAULT_OPTION_LABELS.get(key) == label else label


def function_phrases() -> dict[str, str]:
    """Stored function label ("Chair") -> how the minutes name that speaker ("The chair"),
    in the active language (forum/minutes/formats/akn.py reads speeches back by these phrases)."""
    phrases = {
        Seat.Role.CHAIR: _("The chair"),
        Seat.Role.MODERATOR: _("The moderator"),
        Seat.Role.RAPPORTEUR: _("The rapporteur"),
        Seat.Role.OBSERVER: _("The observer"),
    }
    return {FUNCTION_LABELS[role]: phrase for role, phrase in phrases.items()}


def anonymous_phrase() -> str:
    return _("A participant")


# The default sectors' speaker phrases, whole: each language puts its own article (or none)
# before the sector ("from the private sector", "del sector privado", "du secteur privé").
DEFAULT_SECTOR_PHRASES = {
    "Government": gettext_noop("A participant from government"),
    "Intergovernmental": gettext_noop("A participant from an intergovernmental organization"),
    "Civil society": gettext_noop("A participant from civil society"),
    "Private sector": gettext_noop("A participant from the private sector"),
    "Academia": gettext_noop("A participant from academia"),
}

# What the speaker did, by the intervention's kind (Intervention.Kind); %(speaker)s is the
# phrase above. An unknown kind reads as a statement.
KIND_SENTENCES = {
    Intervention.Kind.STATEMENT: gettext_noop("%(speaker)s said:"),
    Intervention.Kind.QUESTION: gettext_noop("%(speaker)s asked:"),
    Intervention.Kind.REPLY: gettext_noop("%(speaker)s replied:"),
    Intervention.Kind.POINT_OF_ORDER: gettext_noop("%(speaker)s raised a point of order:"),
    # What a delegate said in the meeting room is the chair's note of it, not their words.
    Intervention.Kind.IN_ROOM: gettext_noop("%(speaker)s spoke in the room; the chair's note:"),
}


def kind_sentence(kind: str, speaker: str) -> str:
    """ "A participant from the private sector asked:", in the active language."""
    template = KIND_SENTENCES.get(kind, KIND_SENTENCES[Intervention.Kind.STATEMENT])
    return _(template) % {"speaker": speaker}


def sector_phrase(name: str, stored: str | None = None) -> str:
    """ "A participant from civil society", in the active language (`stored`: the sector's
    stored English name, which picks a default sector's whole phrase; without it, a default
    sector's name in the active language picks it too, so a reader that has only the names the
    minutes print gets the same phrase)."""
    if stored is None:
        stored = next((english for english in DEFAULT_SECTOR_PHRASES if _(english) == name), None)
    if stored in DEFAULT_SECTOR_PHRASES:
        return _(DEFAULT_SECTOR_PHRASES[stored])
    if translation.get_language() in _LOWERCASE_SECTOR_IN:
        name = _lower_first(name)
    return _("A participant from %(sector)s") % {"sector": name}


def speaker_phrase(
    room: RoundTable,
    stored: dict,
    sector_names: dict[str, str],
    stored_names: dict[str, str] | None = None,
) -> str:
    """Who said it, by the room's policy and the attribution stored with the intervention
    (`sector_names`: slug -> name in the minutes' language; `stored_names`: slug -> the
    stored name, which picks a default sector's phrase)."""
    label = (stored or {}).get("label") or ""
    sector = (stored or {}).get("sector")
    if room.attribution == RoundTable.Attribution.NAMED and not room.is_chatham_house and label:
        return label
    functions = function_phrases()
    if label in functions:
        return functions[label]
    if room.attribution == RoundTable.Attribution.SECTOR and sector:
        return sector_phrase(sector_names.get(sector, sector), (stored_names or {}).get(sector))
    return anonymous_phrase()
