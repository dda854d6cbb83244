"""The status scale: values, labels, order and colours, defined once.

The labels are translated (gettext_lazy): they are read in the active language where they are
shown; the values (the codes) never change.

Everything that shows a status takes it from here: the models' choices, forms and filters, the
badges (their stylesheet is generated from `STATUS_STYLES`, see `stylesheet()`), the XLSX fills
and the PDF. See docs/design.md, "Status scale".
"""

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# A label: translated when shown (a lazy string), or already a string.
Label = str | Promise


class Status(models.TextChoices):
    """Ordinal, worst to best; `Not assessed` is the absence of an assessment."""

    REGRESSED = "REGRESSED", _("Regressed")
    NO_PROGRESS = "NO_PROGRESS", _("No progress")
    IN_PROGRESS = "IN_PROGRESS", _("In progress")
    PARTIALLY_IMPLEMENTED = "PARTIALLY_IMPLEMENTED", _("Partially implemented")
    IMPLEMENTED = "IMPLEMENTED", _("Implemented")

    @classmethod
    def rank(cls, value: str) -> int:
        """0 for the worst status, 4 for the best (ValueError for what is not a status)."""
        # A dictionary, not Status.values.index(): pages rank every position they show, and
        # each Status.values builds the list of choices anew.
        try:
            return _RANKS[value]
        except KeyError:
            raise ValueError(f"{value!r} is not a status") from None


_RANKS = {value: rank for rank, value in enumerate(Status.values)}
NOT_ASSESSED = "NOT_ASSESSED"  # never stored: the absence of an assessment
NOT_ASSESSED_LABEL = _("Not assessed")
STATUS_LABELS: dict[str, Label] = dict(Status.choices)


def status_label(value: str | None) -> str:
    """The label of a stored status, in the active language; `Not assessed` for none."""
    return str(STATUS_LABELS.get(value or "", NOT_ASSESSED_LABEL))


def status_choices_with_not_assessed() -> list[tuple[str, Label]]:
    return [*Status.choices, (NOT_ASSESSED, NOT_ASSESSED_LABEL)]


@dataclass(frozen=True)
class StatusStyle:
    """How a status is drawn: `colour` fills a badge or a bar, `ink` is the text on it.
    Every pair has at least 4.5:1 contrast (WCAG AA); a status is never shown by colour alone."""

    colour: str
    ink: str

    @property
    def colour_hex(self) -> str:
        """Without the leading #, as spreadsheets want it."""
        return self.colour.removeprefix("#").upper()


STATUS_STYLES: dict[str, StatusStyle] = {
    Status.REGRESSED: StatusStyle("#b91c1c", "#ffffff"),
    Status.NO_PROGRESS: StatusStyle("#c2410c", "#ffffff"),
    Status.IN_PROGRESS: StatusStyle("#a16207", "#ffffff"),
    Status.PARTIALLY_IMPLEMENTED: StatusStyle("#1d4ed8", "#ffffff"),
    Status.IMPLEMENTED: StatusStyle("#15803d", "#ffffff"),
    NOT_ASSESSED: StatusStyle("#cbd2d9", "#1f2933"),
}


def status_style(value: str | None) -> StatusStyle:
    return STATUS_STYLES.get(value or NOT_ASSESSED, STATUS_STYLES[NOT_ASSESSED])


def stylesheet(svg_fills: bool = True) -> str:
    """CSS: a `--status-<VALUE>` custom property per status (other rules take their "bad" and
    "good" colours from the ends of the scale), `.status-<VALUE>` badges and, for the web
    pages, `.fill-<VALUE>` SVG bars (WeasyPrint knows no `fill` property)."""
    properties = "".join(
        f" --status-{value}: {style.colour};" for value, style in STATUS_STYLES.items()
    )
    rules = [f":root {{{properties} }}\n"]
    for value, style in STATUS_STYLES.items():
        rules.append(f".status-{value} {{ background: {style.colour}; color: {style.ink}; }}\n")
        if svg_fills:
            rules.append(f".fill-{value} {{ fill: {style.colour}; }}\n")
    return "".join(rules)
