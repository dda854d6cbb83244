"""What a single-line name (a review cycle's, an organization's, a report's title, …) may hold.

A line break in a name that ends up in a mail subject makes the mail unsendable (Django refuses
the header), and other control characters garble exports and terminals; none belongs in a name.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Control characters (tab, line feed, NUL, escape, …) and the Unicode line and paragraph
# separators.
NOT_IN_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})


def first_control_character(text: str) -> str | None:
    """The first character of `text` that does not belong in one line of text, if any."""
    return next((c for c in text if unicodedata.category(c) in NOT_IN_ONE_LINE), None)


def code_point(character: str) -> str:
    """U+000A: how a message names an invisible character."""
    return f"U+{ord(character):04X}"


def refuse_control_characters(value: str) -> None:
    """The validator of every single-line name field."""
    character = first_control_character(value)
    if character is not None:
        raise ValidationError(
            _("Enter one line without control characters (this contains %(character)s)."),
            code="control_character",
            params={"character": code_point(character)},
        )


def as_one_line(text: str) -> str:
    """`text` with every run of whitespace and control characters one space: for a name stored
    before names were validated, where one line is required (a mail subject)."""
    spaced = "".join(" " if unicodedata.category(c) in NOT_IN_ONE_LINE else c for c in text)
    return " ".join(spaced.split())
