"""A recommendation's status over time (recommendations/timeline.py, issue 13): the step chart's
geometry, its words for screen readers, its table, and its cost."""

import random
import re
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations.models import Organization, Recommendation, Status
from recommendations.status import STATUS_LABELS
from recommendations.timeline import (
    LINE_COLOURS,
    MAX_CHANGES,
    PLOT_LEFT,
    PLOT_RIGHT,
    WIDTH,
    level_y,
    status_timeline,
    text_width,
)

from .conftest import make_assessment, make_organization, make_user, rec_url

TODAY = date(2026, 3, 15)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


# (who, status, when): the government moves up twice; the NGO stays at Regressed.
WRITES = [
    ("gov", Status.NO_PROGRESS, at(2025, 5, 10)),
    ("ngo", Status.REGRESSED, at(2025, 6, 1)),
    ("gov", Status.IN_PROGRESS, at(2025, 9, 1)),
    ("ngo", Status.REGRESSED, at(2025, 11, 1)),
    ("gov", Status.PARTIALLY_IMPLEMENTED, at(2026, 1, 20)),
]


def record(recommendation: Recommendation, people: dict, writes: list) -> None:
    for who, status, when in writes:
        make_assessment(recommendation, people[who], status, created_at=when)


def path_ys(path: str) -> list[float]:
    """The y of each horizontal run of a step path (M x y, then H x V y …, then H x)."""
    first = re.match(r"M[\d.]+ ([\d.]+)", path)
    assert first
    return [float(first.group(1)), *(float(y) for y in re.findall(r"V([\d.]+)", path))]


def test_the_steps_follow_the_assessments(people, norway):
    recommendation = norway.recommendations.get(number=1)
    record(recommendation, people, WRITES)

    timeline = status_timeline(recommendation, today=TODAY)

    government, ngo = timeline.series
    assert (government.name, government.kind) == ("Justisdepartementet", "GOVERNMENT")
    assert (ngo.name, ngo.kind) == ("Nettverk mot menneskehandel", "NGO")
    assert [p.status for p in government.points] == [
        Status.NO_PROGRESS,
        Status.IN_PROGRESS,
        Status.PARTIALLY_IMPLEMENTED,
    ]
    for line in timeline.series:
        for point in line.points:
            assert point.rank == Status.rank(point.status)
            assert point.y == pytest.approx(level_y(point.rank) + line.offset)
        xs = [p.x for p in line.points]
        assert xs == sorted(xs) and len(set(xs)) == len(xs)
        assert xs[0] >= PLOT_LEFT and xs[-1] <= PLOT_RIGHT
        # One horizontal run per change of status, at it; the last runs on to today.
        assert path_ys(line.path) == pytest.approx([p.y for p in line.points], abs=0.05)
        assert line.path.endswith(f"H{PLOT_RIGHT:.1f}")
    # Higher status, higher on the chart (smaller y).
    assert government.points[0].y > government.points[1].y > government.points[2].y
    assert (government.changes, ngo.changes) == (2, 0)
    # From the first assessment's month to the end of today.
    assert timeline.start == timezone.make_aware(datetime(2025, 5, 1))
    assert timeline.end == timezone.make_aware(datetime(2026, 3, 16))
    # The government's first point is 9½ days into a span of 319 days and the hour that
    # daylight saving time gave back in October.
    plot = PLOT_RIGHT - PLOT_LEFT
    assert government.points[0].x == pytest.approx(PLOT_LEFT + plot * 9.5 / (319 + 1 / 24))
    # The five statuses, best at the top, labelled as everywhere else.
    assert [level.label for level in timeline.levels] == list(reversed(STATUS_LABELS.values()))
    assert [level.y for level in timeline.levels] == sorted(level.y for level in timeline.levels)


def test_the_order_of_writes_does_not_matter(people, norway):
    in_order = norway.recommendations.get(number=1)
    shuffled = norway.recommendations.get(number=2)
    record(in_order, people, WRITES)
    writes = list(WRITES)
    random.Random(13).shuffle(writes)
    assert writes != WRITES
    record(shuffled, people, writes)

    assert status_timeline(in_order, today=TODAY) == status_timeline(shuffled, today=TODAY)


def test_organizations_are_told_apart_without_colour(people, norway):
    recommendation = norway.recommendations.get(number=1)
    embassy = make_user("embassy.reviewer", make_organization("Axe Foundation", kind="OTHER"))
    people = {**people, "embassy": embassy}
    when = at(2025, 5, 10)
    for i, who in enumerate(("gov", "ngo", "other", "embassy")):
        make_assessment(
            recommendation, people[who], Status.IN_PROGRESS, created_at=when + timedelta(i)
        )

    lines = status_timeline(recommendation, today=TODAY).series

    assert [line.kind for line in lines] == ["GOVERNMENT", "NGO", "NGO", "OTHER"]
    assert len({line.shape for line in lines}) == len(lines)
    assert len({line.colour for line in lines}) == len(lines)
    # Government, NGOs and others each have their own kind of line.
    assert len({line.dash for line in lines}) == 3 and lines[1].dash == lines[2].dash
    # Lines on one status are drawn apart, not on top of each other.
    assert len({line.points[0].y for line in lines}) == len(lines)


def relative_luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_line_colours_stand_out_from_the_white_background():
    for colour in LINE_COLOURS:
        assert 1.05 / (relative_luminance(colour) + 0.05) >= 3, colour


def test_review_cycles_are_shaded_bands_with_their_names(people, norway):
    recommendation = norway.recommendations.get(number=1)
    make_assessment(recommendation, people["gov"], Status.NO_PROGRESS, created_at=at(2025, 2, 3))
    make_assessment(recommendation, people["ngo"], Status.IN_PROGRESS, created_at=at(2026, 4, 20))

    timeline = status_timeline(recommendation, today=date(2026, 5, 10))

    bands = timeline.bands
    assert [band.name for band in bands] == ["2024–25", "2025–26", "2026–27"]
    assert bands[0].x == PLOT_LEFT
    assert bands[-1].x + bands[-1].width == pytest.approx(PLOT_RIGHT)
    for left, right in pairwise(bands):
        assert left.x + left.width == pytest.approx(right.x)  # cycles meet, no gap
        assert left.shade != right.shade
    # A whole cycle has room for its name; two months of one, at the edge, do not.
    assert [band.named for band in bands] == [False, True, False]
    assert "Review cycles shaded: 2024–25, 2025–26, 2026–27." in timeline.description


def test_month_labels_fit_whatever_the_span(people, norway):
    recommendation = norway.recommendations.get(number=1)
    make_assessment(recommendation, people["gov"], Status.NO_PROGRESS, created_at=at(2024, 4, 2))
    for days in (0, 20, 100, 400, 800, 2000):
        today = date(2024, 4, 2) + timedelta(days)
        ticks = status_timeline(recommendation, today=today).ticks
        assert len(ticks) >= 2, days
        extents = []
        for tick in ticks:
            width = text_width(tick.label)
            left = {"start": tick.x, "middle": tick.x - width / 2, "end": tick.x - width}
            extents.append((left[tick.anchor], left[tick.anchor] + width))
        assert all(a >= 0 and b <= WIDTH for a, b in extents), days
        assert all(b < c for (_, b), (c, _) in pairwise(extents)), days


def test_one_assessment_makes_a_sensible_chart(people, norway):
    recommendation = norway.recommendations.get(number=1)
    make_assessment(
        recommendation, people["ngo"], Status.IN_PROGRESS, created_at=at(2026, 3, 15, 9)
    )

    timeline = status_timeline(recommendation, today=TODAY)

    (line,) = timeline.series
    (point,) = line.points
    assert timeline.start and timeline.end
    assert timeline.end - timeline.start >= timedelta(days=61)
    assert PLOT_LEFT < point.x < PLOT_RIGHT and line.path.endswith(f"H{PLOT_RIGHT:.1f}")
    assert len(timeline.ticks) >= 2
    assert timeline.description == (
        "From 1 Jan 2026 to 15 Mar 2026. "
        "Nettverk mot menneskehandel (NGO): In progress since 15 Mar 2026. "
        "Review cycles shaded: 2025–26."
    )


def test_the_description_names_each_organizations_current_status(people, norway):
    recommendation = norway.recommendations.get(number=1)
    record(recommendation, people, WRITES)

    description = status_timeline(recommendation, today=TODAY).description

    assert (
        "Justisdepartementet (Government): No progress on 10 May 2025 → "
        "Partially implemented on 20 Jan 2026, 2 changes of status."
    ) in description
    # Assessed twice, at the same status: no change, one point.
    assert "Nettverk mot menneskehandel (NGO): Regressed since 1 Jun 2025." in description


def test_the_page_shows_the_chart_with_its_words_and_its_table(client, people, norway):
    recommendation = norway.recommendations.get(number=1)
    record(recommendation, people, WRITES)
    client.force_login(people["observer"])

    html = client.get(rec_url("recommendation")).content.decode()

    figure = html.split('<figure class="timeline-figure">')[1].split("</figure>")[0]
    assert "<figcaption>Status over time, by organization</figcaption>" in figure
    assert 'role="img" aria-labelledby="timeline-title timeline-desc"' in figure
    assert '<title id="timeline-title">' in figure and '<desc id="timeline-desc">' in figure
    assert figure.count('class="timeline-line kind-') == 2
    # One point per change of status: the NGO's second Regressed is not one.
    assert figure.count('<path class="timeline-point') == len(WRITES) - 1
    assert "<summary>Show as a table</summary>" in figure
    groups = re.findall(r'<th scope="rowgroup" rowspan="(\d)">([^<]+)</th>', figure)
    assert groups == [("3", "Justisdepartementet"), ("1", "Nettverk mot menneskehandel")]
    assert figure.count('<td class="timeline-date">') == len(WRITES) - 1
    assert "Earlier assessments in the history" not in figure
    # Outside the part HTMX swaps after an assessment, before the comments.
    assert html.index('id="history-heading"') < html.index('id="timeline-heading"')
    assert html.index('id="timeline-heading"') < html.index('id="comments-heading"')


def test_without_assessments_there_is_no_chart(client, people, norway):
    recommendation = norway.recommendations.get(number=3)
    assert status_timeline(recommendation).series == []
    client.force_login(people["gov"])

    html = client.get(rec_url("recommendation", 3)).content.decode()

    assert "No assessments yet, so no timeline." in html
    assert "timeline-chart" not in html


def long_history(recommendation: Recommendation, people: dict, count: int, seed: int) -> list:
    """`count` assessments by four organizations, a few days apart, each keeping its status
    half the time; returned oldest first as (organization id, status, when, pk)."""
    random_ = random.Random(seed)
    who = ["gov", "ngo", "other", "coordinator_org"]
    people = {**people, "coordinator_org": make_user("fourth", make_organization("Fjerde"))}
    held: dict[str, str] = {}
    written = []
    start = at(2023, 4, 5)
    for i in range(count):
        name = random_.choice(who)
        status = held.get(name) if name in held and random_.random() < 0.5 else None
        status = status or random_.choice(Status.values)
        held[name] = status
        assessment = make_assessment(
            recommendation, people[name], status, created_at=start + timedelta(days=2 * i)
        )
        written.append((assessment.organization_id, status, assessment.created_at, assessment.pk))
    return written


def changes_of(written: list) -> list:
    """(organization id, status, when) of each change of status, oldest first, worked out
    here the slow way."""
    held: dict[int, str] = {}
    changes = []
    for organization, status, when, _pk in written:
        if held.get(organization) != status:
            changes.append((organization, status, when))
        held[organization] = status
    return changes


def drawn(timeline) -> list:
    return sorted(
        (
            (line.organization_id, point.status, point.at)
            for line in timeline.series
            for point in line.points
        ),
        key=lambda change: change[2],
    )


def test_the_points_are_exactly_the_status_changes(people, norway):
    recommendation = norway.recommendations.get(number=1)
    written = long_history(recommendation, people, 120, seed=24)
    changes = changes_of(written)
    assert 40 < len(changes) < 120  # repeats were written, and left out

    everything = status_timeline(recommendation, today=TODAY, limit=1000)

    assert drawn(everything) == changes
    assert everything.earlier_history_page is None
    assert all(line.entry is None for line in everything.series)


def test_a_long_history_draws_only_the_latest_changes(client, people, norway):
    recommendation = norway.recommendations.get(number=1)
    written = long_history(recommendation, people, 400, seed=7)
    changes = changes_of(written)
    assert len(changes) > MAX_CHANGES

    timeline = status_timeline(recommendation, today=TODAY)

    assert drawn(timeline) == changes[-MAX_CHANGES:]
    start = changes[-MAX_CHANGES][2]
    assert timeline.start == start
    # Each organization enters with the status it held just before the chart begins.
    before = {}
    for organization, status, when, _pk in written:
        if when < start:
            before[organization] = status
    entered = {line.organization_id: line.entry.status for line in timeline.series if line.entry}
    assert entered == before
    for line in timeline.series:
        if line.entry:
            assert path_ys(line.path)[0] == pytest.approx(line.entry.y, abs=0.05)
            assert line.path.startswith(f"M{PLOT_LEFT:.1f} ")
    # One click away: the history page whose entries continue just before the chart.
    page = timeline.earlier_history_page
    entries, _total = recommendation.history_entries(page)
    newest_first = list(reversed(written))
    place = next(i for i, w in enumerate(newest_first) if w[2] == start)
    assert (page - 1) * Recommendation.HISTORY_PAGE_SIZE <= place + 1 < page * 20
    assert newest_first[place + 1][3] in [entry.pk for entry in entries]
    assert "Only the latest 50 changes of status are drawn." in timeline.description

    client.force_login(people["observer"])
    html = client.get(rec_url("recommendation")).content.decode()
    figure = html.split('<figure class="timeline-figure">')[1].split("</figure>")[0]
    assert figure.count('<path class="timeline-point') == MAX_CHANGES
    assert (
        f'href="?history_page={page}#history-heading">Earlier assessments in the history' in figure
    )


def test_the_latest_changes_within_days_still_have_a_date_on_the_axis(people, norway):
    recommendation = norway.recommendations.get(number=1)
    organizations = [people["gov"], people["ngo"], people["other"]]
    for i in range(MAX_CHANGES + 10):
        make_assessment(
            recommendation,
            organizations[i % 3],
            Status.values[i % 5],
            created_at=at(2026, 3, 2) + timedelta(hours=3 * i),
        )

    timeline = status_timeline(recommendation, today=date(2026, 3, 12))

    assert timeline.earlier_history_page  # only the latest are drawn, all in early March
    assert timeline.ticks and timeline.ticks[0].label
    (tick,) = timeline.ticks
    assert (tick.x, tick.anchor, tick.label) == (PLOT_LEFT, "start", "3 Mar 2026")


@pytest.mark.parametrize("count", [3, 60, 600])
def test_the_chart_costs_a_fixed_number_of_queries_however_long_the_history(people, norway, count):
    recommendation = norway.recommendations.get(number=1)
    organizations = [people["gov"], people["ngo"], people["other"]]
    start = at(2023, 4, 5)
    for i in range(count):
        make_assessment(
            recommendation,
            organizations[i % 3],
            Status.values[i % 5],
            created_at=start + timedelta(days=i),
        )

    with CaptureQueriesContext(connection) as queries:
        timeline = status_timeline(recommendation, today=TODAY)

    # The changes and the review cycles; when some are left off, also the positions of those
    # that did not change in the period (which the page passes in, having read them).
    assert len(queries) == (2 if count <= MAX_CHANGES else 3)
    assert sum(len(line.points) for line in timeline.series) == min(count, MAX_CHANGES)
    assert Organization.objects.count() >= 3
