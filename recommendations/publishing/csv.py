import csv
from collections.abc import Iterable, Iterator

from .tables import (
    history_columns,
    history_row,
    history_rows,
    summary_columns,
    summary_rows,
)

# Spreadsheets run a cell that starts with one of these as a formula (or after editing it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """Text must stay text: a leading apostrophe, which spreadsheets read as "this is text"."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like object whose write() hands back the line, for csv.writer in a stream."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text line by line, starting with a byte-order mark so Excel reads UTF-8."""
    writer = csv.writer(_Line())
    # The header holds organization names too: typed by people, so neutralised like any cell.
    yield "\ufeff" + writer.writerow([neutralise_formula(value) for value in header])
    for row in rows:
        yield writer.writerow([neutralise_formula(value) for value in row])


def render_csv(document: dict) -> bytes:
    """One row per recommendation: its positions, divergence and counts."""
    return "".join(csv_lines(summary_columns(document), summary_rows(document))).encode("utf-8")


def render_history_csv(document: dict) -> bytes:
    """One row per assessment, oldest first."""
    return "".join(csv_lines(history_columns(), history_rows(document))).encode("utf-8")


def stream_history_csv(records: Iterable[dict], short_titles: dict[int, str]) -> Iterator[bytes]:
    """The history CSV from assessment records as they come (see
    document.stream_assessment_records): memory does not grow with the history."""
    rows = (history_row(record, short_titles) for record in records)
    for line in csv_lines(history_columns(), rows):
        yield line.encode("utf-8")
