import io
import re
from collections.abc import Iterable
from datetime import datetime

from django.utils.translation import gettext

from ..status import STATUS_STYLES, Status
from .tables import (
    FIRST_ORGANIZATION_COLUMN,
    about_lines,
    evidence_columns,
    evidence_rows,
    history_columns,
    history_rows,
    summary_columns,
    summary_rows,
)

LINE_BREAKS = re.compile(r"\r\n?")


def spreadsheet_date(value: object) -> object:
    """A document timestamp as a real spreadsheet date (local time; Excel has no zones)."""
    if isinstance(value, str) and value:
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


def render_xlsx(document: dict) -> bytes:
    """Four sheets: Summary, History, Evidence and About. Every cell is written through
    `add_sheet`, where text is always stored as text, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="334E68")
    wrap = Alignment(wrap_text=True, vertical="top")
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
    ) -> None:
        sheet = workbook.create_sheet(title)
        if header:
            sheet.append(header)
            for cell in sheet[1]:
                cell.font, cell.fill, cell.alignment = header_font, header_fill, wrap
        for row in rows:
            sheet.append([spreadsheet_value(v, i in date_cols) for i, v in enumerate(row)])
        for row in sheet.iter_rows(min_row=2 if header else 1):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                    cell.alignment = wrap
                elif isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                    cell.alignment = wrap
                else:
                    cell.alignment = Alignment(vertical="top")
            for index in status_cols:
                cell = row[index]
                if cell.value in status_styles:
                    cell.fill, cell.font = status_styles[cell.value]
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        if header:
            sheet.freeze_panes = "A2"
            sheet.auto_filter.ref = sheet.dimensions

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
    about = gettext("About")
    add_sheet(about, None, [list(line) for line in about_lines(document)], [20, 80])
    for cell in workbook[about]["A"]:
        cell.font = Font(bold=True)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
