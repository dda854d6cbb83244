import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.utils.translation import gettext

from ..status import STATUS_STYLES, Status
from .csv import FORMULA_STARTS
from .tables import (
    FIRST_ORGANIZATION_COLUMN,
    SUMMARY_COLUMNS,
    TARGET_DATE,
    about_lines,
    evidence_columns,
    evidence_rows,
    history_columns,
    history_rows,
    summary_columns,
    summary_rows,
)

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

LINE_BREAKS = re.compile(r"\r\n?")


def spreadsheet_date(value: object) -> object:
    """A document's day or timestamp as a real spreadsheet date (local time; Excel has no
    zones); empty stays empty."""
    if isinstance(value, str) and value:
        if len(value) == len("2026-12-31"):
            return date.fromisoformat(value)
        return datetime.fromisoformat(value).replace(tzinfo=None)
    return value


def spreadsheet_value(value: object, is_date: bool = False) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if is_date:
        return spreadsheet_date(value)
    if isinstance(value, str):
        # XML cannot hold most control codes, and its readers turn CR LF and a lone CR into LF:
        # write line breaks as LF, so that what is read back is what was written.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", LINE_BREAKS.sub("\n", value))
    return value


def write_cell(
    sheet: "Worksheet", row: int, column: int, value: object, is_date: bool = False
) -> "Cell":
    """Put one value in one cell. The only way anything gets into a workbook (headings and
    names included): openpyxl makes a formula of any text that starts with "=", so text is
    always stored as text here, and text that a spreadsheet would take for a formula once
    someone edits the cell carries the quote prefix (shown as text, kept as text)."""
    cell = sheet.cell(row=row, column=column)
    cell.value = spreadsheet_value(value, is_date)
    if isinstance(cell.value, str):
        cell.data_type = "s"
        cell.quotePrefix = cell.value.startswith(FORMULA_STARTS)
    return cell


def render_xlsx(document: dict) -> bytes:
    """Four sheets: Summary, History, Evidence and About, with fixed titles. Every cell is
    written by `write_cell`, where text is always stored as text, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="334E68")
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    status_styles = {
        str(label): (
            PatternFill("solid", fgColor=STATUS_STYLES[value].colour_hex),
            Font(bold=True, color=STATUS_STYLES[value].ink.removeprefix("#").upper()),
        )
        for value, label in Status.choices
    }

    def add_sheet(
        title: str,
        header: list[str] | None,
        rows: Iterable[list],
        widths: list[int],
        status_cols: tuple[int, ...] = (),
        date_cols: tuple[int, ...] = (),
    ) -> "Worksheet":
        sheet = workbook.create_sheet(title)
        row_number = 0
        if header:
            row_number += 1
            for column, heading in enumerate(header, start=1):
                cell = write_cell(sheet, row_number, column, heading)
                cell.font, cell.fill, cell.alignment = header_font, header_fill, wrap
        for values in rows:
            row_number += 1
            for index, value in enumerate(values):
                cell = write_cell(sheet, row_number, index + 1, value, index in date_cols)
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
                cell.alignment = wrap if isinstance(cell.value, str | date) else top
                if index in status_cols and cell.value in status_styles:
                    cell.fill, cell.font = status_styles[cell.value]
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        if header:
            sheet.freeze_panes = "A2"
            sheet.auto_filter.ref = sheet.dimensions
        return sheet

    workbook = Workbook()
    workbook.remove(workbook.active)
    add_sheet(
        gettext("Summary"),
        summary_columns(document),
        summary_rows(document),
        [8, 28, 14, 60, 28, 36, 12, 9, 30, 30, 30, 11, 20, 10, 10]
        + [18] * len(document["organizations"]),
        status_cols=tuple(
            range(
                FIRST_ORGANIZATION_COLUMN,
                FIRST_ORGANIZATION_COLUMN + len(document["organizations"]),
            )
        ),
        date_cols=(SUMMARY_COLUMNS.index(TARGET_DATE),),
    )
    add_sheet(
        gettext("History"),
        history_columns(),
        history_rows(document),
        [11, 9, 28, 28, 12, 20, 10, 18, 17, 60, 14, 12],
        status_cols=(7,),
        date_cols=(8,),
    )
    add_sheet(
        gettext("Evidence"), evidence_columns(), evidence_rows(document), [10, 22, 80, 9, 9, 40, 30]
    )
    about = add_sheet(
        gettext("About"), None, [list(line) for line in about_lines(document)], [20, 80]
    )
    for cell in about["A"]:
        cell.font = Font(bold=True)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
