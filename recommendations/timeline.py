"""A recommendation's status over time, by organization (issue 13): the geometry of a
server-rendered SVG step chart, worked out here in plain Python from a fixed number of queries,
so that the template `_timeline.html` only draws what it is given.

The chart draws one point per change of an organization's status (its first assessment
included), never one per assessment: the database finds the changes (a window function compares
each assessment with the organization's one before), and only the newest `MAX_CHANGES` are
drawn. With more, the chart begins at the oldest change it draws; organizations that held a
status before then enter from the left edge, and the note under the chart links to the history
page where the earlier assessments are. So the page's size and work stay the same however long
the history grows (issue 24).

The chart has a fixed viewBox that CSS scales to the column. Its text is sized by container
queries in user units (larger when the chart is drawn small), so everything that must fit beside
text — tick spacing, cycle names — is measured at the largest of those sizes, `FIT_FONT`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import TypedDict

from django.db.models import F, Q, Value, Window
from django.db.models.functions import Lag, RowNumber
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.formats import date_format
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _

from .models import (
    Assessment,
    OrganizationKind,
    Recommendation,
    ReviewCycle,
    standing_assessments,
)
from .status import Status

WIDTH = 560
PLOT_LEFT = 14.0
PLOT_RIGHT = WIDTH - 14.0
BAND_TOP = 32.0  # cycle names are written in the strip above
LEVEL_TOP = 66.0  # the top status; its label sits above its line
LEVEL_STEP = 50.0
PLOT_BOTTOM = LEVEL_TOP + 4 * LEVEL_STEP + 14
TICK_LABEL_Y = PLOT_BOTTOM + 26
HEIGHT = int(TICK_LABEL_Y + 8)
LEVEL_LABEL_RAISE = 16.0  # a status's label baseline, above its line and its points
BAND_LABEL_Y = BAND_TOP - 9

FIT_FONT = 21.0  # the largest font size (user units) app.css gives the chart's text
CHARACTER_WIDTH = 0.6  # of the font size: generous for the system sans-serif fonts
MINIMUM_SPAN = timedelta(days=61)  # a first assessment made today still gets an axis
MARKER_SIZE = 6.5
MAXIMUM_SPREAD = 9.0  # how far apart the lines of organizations on one status are drawn

# Line colours: each at least 3:1 against white (WCAG 1.4.11) and none a status colour,
# which the points keep for status meaning.
LINE_COLOURS = ("#334e68", "#7e22ce", "#0f766e", "#be185d", "#111827", "#78350f")
# The kind of organization is told by the line itself: government solid, NGOs dashed,
# others dotted; within a kind, the marker shape and colour tell organizations apart.
DASHES: dict[str, str] = {OrganizationKind.GOVERNMENT: "none", OrganizationKind.NGO: "9 5"}
OTHER_DASH = "2 4"
SHAPES = ("circle", "square", "diamond", "triangle", "triangle-down", "plus")
TICK_STEPS = (1, 2, 3, 6, 12, 24, 60)  # months between labelled ticks
MAX_CHANGES = 50  # the most status changes one chart draws


def text_width(text: str, font: float = FIT_FONT) -> float:
    return len(text) * CHARACTER_WIDTH * font


def _number(value: float) -> str:
    return f"{value:.1f}"


def _polygon(corners: list[tuple[float, float]]) -> str:
    return "M" + "L".join(f"{_number(x)} {_number(y)}" for x, y in corners) + "Z"


def marker_path(shape: str, cx: float, cy: float, size: float = MARKER_SIZE) -> str:
    """An SVG path of the shape centred on (cx, cy)."""
    s = size
    if shape == "square":
        h = s * 0.85
        return _polygon([(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)])
    if shape == "diamond":
        d = s * 1.2
        return _polygon([(cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)])
    if shape in ("triangle", "triangle-down"):
        sign = 1 if shape == "triangle" else -1
        tip, base, half = cy - sign * s * 1.15, cy + sign * s * 0.85, s * 1.1
        return _polygon([(cx, tip), (cx + half, base), (cx - half, base)])
    if shape == "plus":
        a, b = s * 0.4, s * 1.05
        return _polygon(
            [
                (cx - a, cy - b), (cx + a, cy - b), (cx + a, cy - a), (cx + b, cy - a),
                (cx + b, cy + a), (cx + a, cy + a), (cx + a, cy + b), (cx - a, cy + b),
                (cx - a, cy + a), (cx - b, cy + a), (cx - b, cy - a), (cx - a, cy - a),
            ]
        )  # fmt: skip
    r = _number(s)
    return (
        f"M{_number(cx - s)} {_number(cy)}a{r} {r} 0 1 0 {_number(2 * s)} 0"
        f"a{r} {r} 0 1 0 {_number(-2 * s)} 0Z"
    )


@dataclass(frozen=True)
class TimelinePoint:
    """One assessment: where it is drawn, and what it says."""

    x: float
    y: float
    rank: int
    status: str
    label: str
    at: datetime
    marker: str
    title: str
    is_first: bool  # the organization's first assessment (not a change from an earlier status)


@dataclass(frozen=True)
class TimelineEntry:
    """The status an organization held when the chart begins (its line enters from the left
    edge): the chart shows only the newest changes, and this one came before them."""

    status: str
    label: str
    y: float


@dataclass
class TimelineSeries:
    """One organization's line: horizontal at its status, a vertical jump at each change, from
    its first assessment to the chart's end (today)."""

    organization_id: int
    name: str
    kind: str
    kind_label: str
    colour: str
    dash: str
    shape: str
    offset: float  # drawn this far off its status's line, so that lines on one status stay apart
    points: list[TimelinePoint] = field(default_factory=list)
    entry: TimelineEntry | None = None  # set when the line enters from the left edge
    path: str = ""
    swatch_marker: str = ""  # the marker in the legend's sample of the line

    @property
    def current_status(self) -> str:
        return self.points[-1].status if self.points else self.entry.status  # type: ignore[union-attr]

    @property
    def changes(self) -> int:
        """How many times its status changed on the chart (a first assessment is not a
        change)."""
        return sum(1 for point in self.points if not point.is_first)

    @property
    def rows(self) -> int:
        """Its rows in the chart's table: the status it entered with, then each point."""
        return len(self.points) + (self.entry is not None)

    @property
    def summary(self) -> str:
        words = {"who": f"{self.name} ({self.kind_label})", "changes": self.changes}
        if self.entry is not None:
            words["first"] = self.entry.label
        else:
            words["first"] = self.points[0].label
            words["first_date"] = _day(self.points[0].at)
        if self.points:
            words["current"] = self.points[-1].label
            words["current_date"] = _day(self.points[-1].at)
        if self.entry is not None and not self.points:
            return _("%(who)s: %(first)s throughout.") % words
        if self.entry is not None:
            return (
                ngettext(
                    "%(who)s: %(first)s at the start → %(current)s on %(current_date)s, "
                    "%(changes)d change of status.",
                    "%(who)s: %(first)s at the start → %(current)s on %(current_date)s, "
                    "%(changes)d changes of status.",
                    self.changes,
                )
                % words
            )
        if not self.changes:
            return _("%(who)s: %(first)s since %(first_date)s.") % words
        return (
            ngettext(
                "%(who)s: %(first)s on %(first_date)s → %(current)s on %(current_date)s, "
                "%(changes)d change of status.",
                "%(who)s: %(first)s on %(first_date)s → %(current)s on %(current_date)s, "
                "%(changes)d changes of status.",
                self.changes,
            )
            % words
        )


@dataclass(frozen=True)
class TimelineBand:
    """A review cycle, shaded across the part of the chart it covers."""

    name: str
    x: float
    width: float
    label_x: float
    named: bool  # its name fits above it
    shade: int  # 0 or 1, alternating, so that neighbouring cycles stay apart


@dataclass(frozen=True)
class TimelineTick:
    x: float
    label: str
    anchor: str  # text-anchor: a label at either edge is kept inside the chart


@dataclass(frozen=True)
class TimelineLevel:
    status: str
    label: str
    y: float
    label_y: float


@dataclass
class Timeline:
    series: list[TimelineSeries]
    bands: list[TimelineBand] = field(default_factory=list)
    ticks: list[TimelineTick] = field(default_factory=list)
    levels: list[TimelineLevel] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    description: str = ""
    # Set when older changes were left off: the history page that holds the assessments just
    # before the chart begins.
    earlier_history_page: int | None = None
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: float = PLOT_LEFT
    plot_right: float = PLOT_RIGHT
    band_top: float = BAND_TOP
    plot_bottom: float = PLOT_BOTTOM
    band_label_y: float = BAND_LABEL_Y
    tick_label_y: float = TICK_LABEL_Y

    @property
    def band_height(self) -> float:
        return self.plot_bottom - self.band_top

    @property
    def tick_top(self) -> float:
        return self.plot_bottom

    @property
    def tick_bottom(self) -> float:
        return self.plot_bottom + 6


TOP_RANK = len(Status.values) - 1


def level_y(rank: int) -> float:
    """The y of a status's line: Regressed (0) at the bottom, Implemented (4) at the top."""
    return LEVEL_TOP + (TOP_RANK - rank) * LEVEL_STEP


def _day(moment: datetime) -> str:
    return _day_text(timezone.localdate(moment), get_language())


@lru_cache(maxsize=4096)
def _day_text(day: date, language: str | None) -> str:
    """A day as the chart writes it, in the language (each day formatted once per worker)."""
    return date_format(day, pgettext("short date format", "j M Y"))


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class _Row(TypedDict):
    organization_id: int
    organization__name: str
    organization__kind: str
    status: str
    previous: str  # "" before the organization's first assessment
    created_at: datetime
    history_place: int  # 1 for the newest assessment


def _offsets(count: int) -> list[float]:
    if count == 1:
        return [0.0]
    step = min(3.5, 2 * MAXIMUM_SPREAD / (count - 1))
    return [round((i - (count - 1) / 2) * step, 1) for i in range(count)]


@dataclass(frozen=True)
class _Scale:
    """Time along the x axis."""

    start: datetime
    end: datetime

    def x(self, moment: datetime) -> float:
        # Timestamps, not datetime subtraction: two datetimes of one time zone subtract as
        # wall-clock times, which would lose the hour of a daylight-saving change.
        share = (moment.timestamp() - self.start.timestamp()) / (
            self.end.timestamp() - self.start.timestamp()
        )
        return PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT)

    def x_of_day(self, day: date) -> float:
        """Where the day begins (the chart's left edge if it begins later that day)."""
        return max(PLOT_LEFT, self.x(_midnight(day)))


def _month_ticks(start_day: date, end_day: date, scale: _Scale, step: int) -> list[TimelineTick]:
    ticks = []
    month = date(start_day.year, start_day.month, 1)
    while month <= end_day:
        if (month.year * 12 + month.month - 1) % step == 0 and month >= start_day:
            x = scale.x_of_day(month)
            label = format_date(month, "M Y")
            half = text_width(label) / 2
            anchor = "middle"
            if x - half < 0:
                anchor = "start"
            elif x + half > WIDTH:
                anchor = "end"
            ticks.append(TimelineTick(x, label, anchor))
        month = _add_months(month, 1)
    return ticks


def _extent(tick: TimelineTick) -> tuple[float, float]:
    width = text_width(tick.label)
    left = {"start": tick.x, "middle": tick.x - width / 2, "end": tick.x - width}[tick.anchor]
    return left, left + width


def _ticks(start_day: date, end_day: date, scale: _Scale) -> list[TimelineTick]:
    """Month ticks, as many as fit side by side at the largest font: every 1, 2, 3, 6, …
    months. A chart that holds no first of a month (the latest changes, all within weeks) is
    labelled with the day it begins."""
    gap = FIT_FONT * CHARACTER_WIDTH
    for step in TICK_STEPS:
        ticks = _month_ticks(start_day, end_day, scale, step)
        extents = [_extent(tick) for tick in ticks]
        if all(right + gap <= left for (_, right), (left, _) in pairwise(extents)):
            break
    if not ticks:
        ticks = [TimelineTick(PLOT_LEFT, _day_text(start_day, get_language()), "start")]
    return ticks


def _bands(
    cycles: Iterable[ReviewCycle], start_day: date, end_day: date, scale: _Scale
) -> list[TimelineBand]:
    bands = []
    for cycle in cycles:
        first = max(cycle.starts_on, start_day)
        last = min(cycle.ends_on + timedelta(days=1), end_day)
        x = scale.x_of_day(first)
        width = scale.x_of_day(last) - x
        bands.append(
            TimelineBand(
                name=cycle.name,
                x=x,
                width=width,
                label_x=x + width / 2,
                named=width >= text_width(cycle.name) + 8,
                shade=cycle.starts_on.year % 2,
            )
        )
    return bands


def status_timeline(
    recommendation: Recommendation,
    today: date | None = None,
    cycles: Sequence[ReviewCycle] | None = None,
    limit: int = MAX_CHANGES,
    positions: Sequence[Assessment] | None = None,
) -> Timeline:
    """The chart of every organization's status on the recommendation: its newest `limit`
    status changes, to today. From the first assessment's month when they are all of them;
    otherwise from the oldest change drawn. No assessments: a timeline without series (and no
    query for cycles). `cycles`, every review cycle when the caller has them already, saves
    reading them; so do `positions`, every organization's current one (with its organization),
    when older changes are left off. At most three queries, however long the history."""
    # The assessments that changed their organization's status (each organization's first
    # included, with `previous` ""), newest first: the database finds them in one pass.
    changes = (
        recommendation.assessments.annotate(
            previous=Window(
                Lag("status", default=Value("")),
                partition_by=[F("organization_id")],
                order_by=[F("created_at").asc(), F("pk").asc()],
            ),
            # Its place in the history, which lists every assessment newest first.
            history_place=Window(RowNumber(), order_by=[F("created_at").desc(), F("pk").desc()]),
        )
        .filter(~Q(previous=F("status")))
        .order_by("-created_at", "-pk")
    )
    newest: list[_Row] = list(
        changes.values(
            "organization_id",
            "organization__name",
            "organization__kind",
            "status",
            "previous",
            "created_at",
            "history_place",
        )[: limit + 1]
    )
    if not newest:
        return Timeline(series=[])
    truncated = len(newest) > limit
    rows = list(reversed(newest[:limit]))
    today = today or timezone.localdate()
    last_day = max(today, timezone.localdate(rows[-1]["created_at"]))
    end_day = last_day + timedelta(days=1)  # the chart ends at the end of today
    end = _midnight(end_day)
    entries: dict[int, tuple[str, str, str]] = {}  # organization → (name, kind, status)
    if truncated:
        start = rows[0]["created_at"]
        start_day = timezone.localdate(start)
        for row in rows:
            if row["previous"] and row["organization_id"] not in entries:
                entries[row["organization_id"]] = (
                    row["organization__name"],
                    row["organization__kind"],
                    row["previous"],
                )
        shown = {row["organization_id"] for row in rows}
        # Those that changed nothing in the period held their current position throughout.
        if positions is None:
            positions = list(
                standing_assessments([recommendation.pk]).select_related("organization")
            )
        for position in positions:
            if position.organization_id not in shown:
                entries[position.organization_id] = (
                    position.organization.name,
                    position.organization.kind,
                    position.status,
                )
    else:
        first_day = timezone.localdate(rows[0]["created_at"])
        start_day = date(first_day.year, first_day.month, 1)
        if end_day - start_day < MINIMUM_SPAN:
            earlier = end_day - MINIMUM_SPAN
            start_day = date(earlier.year, earlier.month, 1)
        start = _midnight(start_day)
    scale = _Scale(start, end)

    organizations = sorted(
        {(r["organization__kind"], r["organization__name"], r["organization_id"]) for r in rows}
        | {(kind, name, pk) for pk, (name, kind, _status) in entries.items()}
    )
    # Each label translated once, not once per point.
    labels = {value: str(label) for value, label in Status.choices}
    kind_labels = {value: str(label) for value, label in OrganizationKind.choices}
    offsets = _offsets(len(organizations))
    series: dict[int, TimelineSeries] = {}
    for index, (kind, name, organization_id) in enumerate(organizations):
        shape = SHAPES[index % len(SHAPES)]
        line = TimelineSeries(
            organization_id=organization_id,
            name=name,
            kind=kind,
            kind_label=kind_labels[kind],
            colour=LINE_COLOURS[index % len(LINE_COLOURS)],
            dash=DASHES.get(kind, OTHER_DASH),
            shape=shape,
            offset=offsets[index],
            swatch_marker=marker_path(shape, 22, 8, 5),
        )
        if organization_id in entries:
            status = entries[organization_id][2]
            line.entry = TimelineEntry(
                status, labels[status], level_y(Status.rank(status)) + line.offset
            )
        series[organization_id] = line
    for row in rows:
        line = series[row["organization_id"]]
        rank = Status.rank(row["status"])
        x, y = scale.x(row["created_at"]), level_y(rank) + line.offset
        label = labels[row["status"]]
        line.points.append(
            TimelinePoint(
                x=x,
                y=y,
                rank=rank,
                status=row["status"],
                label=label,
                at=row["created_at"],
                marker=marker_path(line.shape, x, y),
                title=f"{line.name}: {label}, {_day(row['created_at'])}",
                is_first=not row["previous"],
            )
        )
    for line in series.values():
        if line.entry is not None:
            steps = [f"M{_number(PLOT_LEFT)} {_number(line.entry.y)}"]
            later = line.points
        else:
            steps = [f"M{_number(line.points[0].x)} {_number(line.points[0].y)}"]
            later = line.points[1:]
        for point in later:
            steps.append(f"H{_number(point.x)}V{_number(point.y)}")
        steps.append(f"H{_number(PLOT_RIGHT)}")
        line.path = "".join(steps)

    if cycles is None:
        cycles = list(ReviewCycle.objects.order_by("starts_on"))
    shown_cycles = sorted(
        (c for c in cycles if c.starts_on < end_day and c.ends_on >= start_day),
        key=lambda c: c.starts_on,
    )
    bands = _bands(shown_cycles, start_day, end_day, scale)
    levels = [
        TimelineLevel(value, labels[value], level_y(rank), level_y(rank) - LEVEL_LABEL_RAISE)
        for rank, value in reversed(list(enumerate(labels)))
    ]
    ordered = list(series.values())
    sentences = [
        _("From %(start)s to %(end)s.")
        % {"start": _day(start), "end": _day(end - timedelta(seconds=1))}
    ]
    earlier_history_page = None
    if truncated:
        sentences.append(
            _("Only the latest %(count)s changes of status are drawn.") % {"count": limit}
        )
        # The assessments before the oldest change drawn start on the history's next entry.
        place = newest[limit - 1]["history_place"]
        earlier_history_page = place // Recommendation.HISTORY_PAGE_SIZE + 1
    sentences += [line.summary for line in ordered]
    description = " ".join(sentences)
    if bands:
        shaded = ", ".join(b.name for b in bands)
        description += " " + _("Review cycles shaded: %(cycles)s.") % {"cycles": shaded}
    return Timeline(
        series=ordered,
        bands=bands,
        ticks=_ticks(start_day, end_day, scale),
        levels=levels,
        start=start,
        end=end,
        description=description,
        earlier_history_page=earlier_history_page,
    )
