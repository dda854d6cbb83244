"""The chapter as text, before any layout is read: its size, encoding and characters, the
view the parser reads (VIEW), and the names and lengths the database will hold."""

import os
import re
import unicodedata
from pathlib import Path

from django.db import models
from django.utils.text import slugify

from ..models import Report
from ..validators import code_point, first_control_character


class ImportRefused(Exception):
    """The input cannot become a report; the message names the problem."""


# The longest chapters are about 100 KB; the previewed text must also fit in admin's confirming
# POST (DATA_UPLOAD_MAX_MEMORY_SIZE) after URL-encoding.
IMPORT_MAX_BYTES = 256 * 1024


# Spaces and line breaks as the parser sees them; each maps to one character, so offsets hold.
SPACES = "\t\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
SPACES += "\u200b\u202f\u205f\u3000\ufeff"
LINE_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
VIEW = str.maketrans({**dict.fromkeys(SPACES, " "), **dict.fromkeys(LINE_BREAKS, "\n")})


# Control characters a chapter may not hold: all but tab and line feed (carriage returns are
# line endings, made line feeds before this is checked). PostgreSQL cannot store NUL, and the
# others garble exports, mail and terminals.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """Text with every run of whitespace one space, for messages and previews."""
    return " ".join(text.translate(VIEW).split())


def first_words(text: str, count: int = 8) -> str:
    words = one_line(text).split(" ")
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def country_key(name: str) -> str:
    """What two spellings of one country share: no accents, case, apostrophe style, "The"."""
    plain = unicodedata.normalize("NFKD", name.translate(VIEW))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = re.sub(r"[’‘`´ʼ]", "'", plain).casefold()
    plain = re.sub(r",\s*the$", "", " ".join(plain.split()))  # "Verdant Isles, The"
    return re.sub(r"^the ", "", plain)


def check_year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise ImportRefused(f"the year must have four digits, 2000 to 2100, not {year}")
    return year


def too_large(name: str, size: int) -> ImportRefused:
    return ImportRefused(
        f"{name}: {size:,} bytes; a chapter is at most {IMPORT_MAX_BYTES // 1024} KB"
    )


def read_chapter(path: Path) -> bytes:
    """The file's bytes, refused before it is read whole when it is larger than a chapter can be
    (IMPORT_MAX_BYTES, admin's limit too). OSError when it cannot be read."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > IMPORT_MAX_BYTES:
            raise too_large(path.name, size)
        # A pipe reports no size, and a file may grow: never read more than one byte too many.
        data = file.read(IMPORT_MAX_BYTES + 1)
    if len(data) > IMPORT_MAX_BYTES:
        raise too_large(path.name, max(size, len(data)))
    return data


def max_length(model: type[models.Model], field_name: str) -> int:
    column = model._meta.get_field(field_name)
    assert isinstance(column, models.CharField) and column.max_length is not None
    return column.max_length


def check_fits(value: str, model: type[models.Model], field_name: str, what: str) -> None:
    """Refuse a value longer than the column it is stored in."""
    limit = max_length(model, field_name)
    if len(value) > limit:
        raise ImportRefused(
            f"the {what} is {len(value)} characters long, {first_words(value, 8)!r}; "
            f"a {model._meta.model_name}'s {field_name} holds at most {limit}"
        )


def check_one_line(value: str, what: str) -> None:
    if (character := first_control_character(value)) is not None:
        raise ImportRefused(
            f"the {what} {value!r} contains the control character {code_point(character)}"
        )


def check_source_name(name: str) -> None:
    """The name stored as the report's source name (the file's name, or --source)."""
    check_one_line(name, "source name")
    check_fits(name, Report, "source_name", "source name")


def check_plain_text(text: str) -> None:
    """Refuse a control character (CONTROL_CHARACTER), saying where it is."""
    found = CONTROL_CHARACTER.search(text)
    if found is None:
        return
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - text.rfind("\n", 0, found.start())
    raise ImportRefused(
        f"the control character {code_point(found[0])} on line {line}, column {column}: "
        "a chapter is plain text, with no control characters but line breaks and tabs"
    )


def report_slug(country: str, year: int) -> str:
    return slugify(f"{country}-{year}")


def decode(data: bytes, name: str) -> str:
    """The chapter's text; `name`, stored as its source name, is checked too."""
    check_source_name(name)
    if not data.strip():
        raise ImportRefused(f"{name}: the file is empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"{name}: not UTF-8 text (invalid byte at position {error.start})"
        ) from error


def stored_text(text: str) -> str:
    """The text as stored: without a leading byte-order mark, with LF line endings only."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
