"""Turn a plain-text TIP country chapter into a Report with sections, paragraphs and
recommendations.

The stored text is the uploaded text with exactly two changes: a leading byte-order mark is
removed, and CRLF and CR line endings become LF (`stored_text`). Everything else — non-breaking
and other Unicode spaces, hard-wrapped lines, bullets, headings — is kept, and every offset the
parser returns slices the stored text exactly. The parser reads a *view* of the text of the same
length in which every Unicode space is a plain space and every other line break a newline, so
offsets found in the view are offsets in the stored text.

Layouts read (docs/design.md, "Importing a chapter"): an optional title line
("2024 Trafficking in Persons Report: Norway"); a tier line ("NORWAY (Tier 2)",
"NORWAY: Tier 2", "(Special Case)"), or, in copies that lost it, the summary's placement
("therefore Norway remained on Tier 2") or the tier given; the summary in one or more
paragraphs; the prioritized recommendations joined by " * ", bulleted (•, -, *, ▪), numbered,
or run together with no separator ("…the statute.Ensure …"), after an optional "PRIORITIZED
RECOMMENDATIONS:" heading; the prosecution, protection and prevention pillars, each found by a
heading on its own line ("PROSECUTION", any case) or by its opening sentence ("The government
increased law enforcement efforts.", "The government made no discernible anti-trafficking law
enforcement efforts, and …"); and an optional trafficking profile. Paragraphs are separated by
blank lines, or by single newlines when the text has no blank line at all (or when a block's
lines are each a whole long paragraph, as in a copy from a web page).
Headings are never paragraphs or recommendations. A result that is not plausible is refused
with `ImportRefused`, naming what was found, rather than stored wrong; so is one the database
would refuse (a control character, a name longer than its column, a slug already taken), before
the preview, so that a previewed chapter can be stored.

The package: `text` (size, encoding, characters, names), `layout` (the parser), `storing` (the
preview and the write). What callers use is named here.
"""

from .layout import ParsedReport, parse_report, tier_given
from .storing import (
    ImportResult,
    Preview,
    existing_report,
    import_report,
    preview,
    preview_lines,
    store,
)
from .text import IMPORT_MAX_BYTES, ImportRefused, decode, read_chapter, stored_text

__all__ = [
    "IMPORT_MAX_BYTES",
    "ImportRefused",
    "ImportResult",
    "ParsedReport",
    "Preview",
    "decode",
    "existing_report",
    "import_report",
    "parse_report",
    "preview",
    "preview_lines",
    "read_chapter",
    "store",
    "stored_text",
    "tier_given",
]
