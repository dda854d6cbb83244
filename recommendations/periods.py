"""Reporting periods: what each TIP report covers, 1 April of the year before to 31 March of its
year (the 2025 report: 1 April 2024 – 31 March 2025). Governments and NGOs write their yearly
submissions about one period; the period the tracker calls *current* is the one containing
today (it feeds the next report). Review cycles are the tracker's own periods for filing
assessments (docs/design.md, "Reporting periods and review cycles")."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import pgettext

FIRST_YEAR, LAST_YEAR = 2001, 2100  # the first TIP report appeared in 2001


@dataclass(frozen=True)
class ReportingPeriod:
    report_year: int

    @classmethod
    def containing(cls, day: date | None = None) -> "ReportingPeriod":
        day = day or timezone.localdate()
        return cls(day.year + 1 if day >= date(day.year, 4, 1) else day.year)

    @classmethod
    def current(cls) -> "ReportingPeriod":
        return cls.containing(timezone.localdate())

    @property
    def starts_on(self) -> date:
        return date(self.report_year - 1, 4, 1)

    @property
    def ends_on(self) -> date:
        return date(self.report_year, 3, 31)

    @property
    def starts_at(self) -> datetime:
        """Its first moment, in the site's time zone."""
        return timezone.make_aware(datetime.combine(self.starts_on, time.min))

    @property
    def ends_before(self) -> datetime:
        """The first moment after it."""
        return timezone.make_aware(datetime.combine(self.ends_on + timedelta(days=1), time.min))

    def until(self, now: datetime | None = None) -> datetime:
        """Where what it holds stops: its end, or now for the current period."""
        return min(now or timezone.now(), self.ends_before)

    def contains(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_before

    @property
    def is_current(self) -> bool:
        return self == ReportingPeriod.current()

    def label(self) -> str:
        """ "1 April 2024 – 31 March 2025" in the active language."""
        style = pgettext("long date format", "j F Y")
        return f"{date_format(self.starts_on, style)} – {date_format(self.ends_on, style)}"


def period_of_year(value: str | None) -> ReportingPeriod | None:
    """The period a `?period=<year>` names (None when the value is no such year)."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) != 4:
        return None
    year = int(value)
    return ReportingPeriod(year) if FIRST_YEAR <= year <= LAST_YEAR else None
