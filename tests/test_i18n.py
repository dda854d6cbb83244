"""The interface in English or Norwegian (bokmål), per user; the report's text stays English."""

import csv
import datetime
import re
import shutil
import subprocess

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from recommendations.models import (
    EvidenceItem,
    Preferences,
    Recommendation,
    Responsibility,
    Status,
)
from recommendations.rules.writing import add_comment

from .conftest import rec_url

NORWEGIAN = {"HTTP_ACCEPT_LANGUAGE": "nb-NO,nb;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no lang on <html>"
    return match.group(1)


def test_the_browser_language_decides_without_a_saved_choice(client, people):
    client.force_login(people["ngo"])
    assert html_lang(client.get(reverse("reports"), **NORWEGIAN)) == "nb"
    assert html_lang(client.get(reverse("reports"), **ENGLISH)) == "en-gb"
    assert html_lang(client.get(reverse("reports"))) == "en-gb"  # nothing said: English


def test_switching_returns_to_the_same_page_with_its_filters(client, people):
    client.force_login(people["ngo"])
    page = reverse("dashboard", args=["norway-2024"]) + "?status=IN_PROGRESS&q=victims"
    response = client.post(reverse("set_language"), {"language": "nb", "next": page})
    assert response.status_code == 302
    assert response["Location"] == page
    assert html_lang(client.get(page, **ENGLISH)) == "nb"


def test_a_signed_in_choice_is_saved_and_wins_over_the_browser(client, people):
    client.force_login(people["ngo"])
    client.post(reverse("set_language"), {"language": "nb", "next": "/reports/"})
    assert Preferences.of(people["ngo"]).language == "nb"
    # A new session (another browser, saying English): the saved choice still decides.
    client.logout()
    client.force_login(people["ngo"])
    assert html_lang(client.get(reverse("reports"), **ENGLISH)) == "nb"
    # Back to English, saved too.
    client.post(reverse("set_language"), {"language": "en-gb", "next": "/reports/"})
    assert Preferences.of(people["ngo"]).language == "en-gb"
    assert html_lang(client.get(reverse("reports"), **NORWEGIAN)) == "en-gb"


def test_the_log_in_page_switches_with_a_cookie(client, db):
    response = client.post(reverse("set_language"), {"language": "nb", "next": "/accounts/login/"})
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nb"
    assert html_lang(client.get(reverse("login"), **ENGLISH)) == "nb"
    assert "Norsk" not in client.get(reverse("login")).content.decode()  # offers English now
    assert not Preferences.objects.exists()


def test_switching_refuses_other_sites_and_unknown_languages(client, people):
    client.force_login(people["ngo"])
    response = client.post(
        reverse("set_language"), {"language": "nb", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    response = client.post(reverse("set_language"), {"language": "xx", "next": "/reports/"})
    assert response["Location"] == "/reports/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert Preferences.of(people["ngo"]).language == "nb"
    assert client.get(reverse("set_language")).status_code == 405


def test_the_report_text_is_marked_english_on_a_norwegian_page(client, people):
    client.force_login(people["ngo"])
    page = client.get(rec_url("recommendation"), **NORWEGIAN).content.decode()
    assert '<html lang="nb">' in page
    assert '<blockquote class="recommendation-text" lang="en">' in page
    source = client.get(reverse("source", args=["norway-2024"]), **NORWEGIAN).content.decode()
    assert '<ol class="source-recommendations" lang="en">' in source
    assert '<p lang="en">' in source


# --- the catalogue is complete ------------------------------------------------------------------

PO_FILE = settings.BASE_DIR / "locale" / "nb" / "LC_MESSAGES" / "django.po"


def po_entries() -> list[dict]:
    """The catalogue's entries: flags, msgid, msgstr (every plural form), in a small parser."""
    entries: list[dict] = []
    for block in PO_FILE.read_text(encoding="utf-8").strip().split("\n\n"):
        entry: dict = {"flags": "", "msgid": "", "msgstr": []}
        field = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#"):
                continue
            else:
                match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d\])?|msgctxt) "(.*)"$', line)
                if match:
                    field, text = match.groups()
                    if field.startswith("msgstr"):
                        entry["msgstr"].append(text)
                    else:
                        entry[field] = text
                else:
                    text = re.fullmatch(r'"(.*)"', line).group(1)
                    if field and field.startswith("msgstr"):
                        entry["msgstr"][-1] += text
                    elif field:
                        entry[field] += text
        entries.append(entry)
    return entries


def test_every_norwegian_entry_is_translated_and_none_is_fuzzy():
    entries = [e for e in po_entries() if e["msgid"]]  # not the header
    assert len(entries) > 150
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"])]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


@pytest.mark.skipif(not shutil.which("msgattrib"), reason="gettext's msgattrib is missing")
def test_gettext_finds_no_untranslated_or_fuzzy_entry_either():
    for selection in ("--untranslated", "--only-fuzzy"):
        found = subprocess.run(
            ["msgattrib", selection, "--no-location", "--no-wrap", str(PO_FILE)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        msgids = re.findall(r'^msgid "(.+)"$', found, re.MULTILINE)  # the header's is ""
        assert not msgids, f"{selection}: {msgids}"


def test_the_status_scale_is_named_once_in_norwegian():
    from django.utils import translation

    from recommendations.status import status_choices_with_not_assessed

    with translation.override("nb"):
        labels = [str(label) for _, label in status_choices_with_not_assessed()]
    assert labels == [
        "Tilbakegang",
        "Ingen fremgang",
        "Under arbeid",
        "Delvis gjennomført",
        "Gjennomført",
        "Ikke vurdert",
    ]


# --- the pages under nb carry no English interface words ------------------------------------------


def visible_text_outside_english(html: str) -> str:
    """The page's text and labels (aria-label, placeholder, title, alt, data-label, a submit
    button's value), without the report's own English (lang="en" elements) and without
    <script> and <style>."""
    from html.parser import HTMLParser

    void = {"br", "input", "meta", "link", "img", "hr", "source", "wbr", "col"}
    labels = ("aria-label", "placeholder", "title", "alt", "data-label")

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[bool] = []
            self.hidden = 0
            self.parts: list[str] = []

        def handle_starttag(self, tag, attrs) -> None:
            attributes = dict(attrs)
            outside = not self.hidden and attributes.get("lang") != "en"
            if outside:
                self.parts += [attributes[name] or "" for name in labels if name in attributes]
                if tag == "input" and attributes.get("type") == "submit":
                    self.parts.append(attributes.get("value") or "")
            if tag in void:
                return
            hidden = tag in ("script", "style") or (
                tag != "html" and attributes.get("lang") == "en"
            )
            self.stack.append(hidden)
            self.hidden += hidden

        def handle_endtag(self, tag) -> None:
            if tag not in void and self.stack:
                self.hidden -= self.stack.pop()

        def handle_data(self, data) -> None:
            if not self.hidden:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join(parser.parts)


ENGLISH_UI_WORDS = [
    "Recommendation",
    "Search recommendations",
    "Download",
    "Not assessed",
    "Divergence",
    "Current positions",
    "Evidence from the report",
    "Skip to content",
    "Log out",
    "Log in",
    "Reports",
    "No progress",
    "Implemented",
    "Contents",
]


def test_main_pages_under_nb_show_no_english_interface_words(client, people):
    client.force_login(people["ngo"])
    pages = [
        reverse("reports"),
        reverse("dashboard", args=["norway-2024"]),
        rec_url("recommendation"),
        reverse("source", args=["norway-2024"]),
    ]
    for url in pages:
        response = client.get(url, **NORWEGIAN)
        assert response.status_code == 200, url
        text = visible_text_outside_english(response.content.decode())
        found = [word for word in ENGLISH_UI_WORDS if re.search(rf"\b{word}\b", text)]
        assert not found, f"{url}: {found}"
    client.logout()
    text = visible_text_outside_english(client.get(reverse("login"), **NORWEGIAN).content.decode())
    assert "Logg inn" in text
    assert not [word for word in ENGLISH_UI_WORDS if re.search(rf"\b{word}\b", text)]


# --- every page under nb: no English interface words ----------------------------------------------

# Whole words, case-sensitive, that only English text would hold. "Status" is not among them:
# it is the Norwegian word too.
ENGLISH_WORDS = [
    *ENGLISH_UI_WORDS,
    *("Recommendations", "recommendation", "recommendations", "Evidence", "evidence"),
    *("Assessment", "assessment", "assessed", "Organization", "organization", "Snapshot"),
    *("snapshot", "snapshots", "Published", "published", "Report", "report", "Save", "Since"),
    *("since", "Change", "Compare", "Back", "Password", "Home", "Preview", "Upload", "Title"),
    *("Filters", "Government", "NGOs", "Tier", "Digest", "Reminder", "email", "emails", "Stop"),
    *("Try", "Nothing", "found", "request", "allowed", "Too", "the", "and", "with", "of", "by"),
    *("Select", "option", "None", "yes", "no"),
]
# A day written the English way ("6 Dec 2026", "1 Des 2026"): Norwegian writes "6. des. 2026".
ENGLISH_DAY = re.compile(r"\b\d{1,2} [A-ZÆØÅ][a-zæøå]{2}\.? \d{4}\b")


# Django's own admin strings that its nb catalogue (Django 6.1) does not translate yet.
DJANGO_UNTRANSLATED = ["Toggle theme (current theme: auto)", "Change or view list link"]
DJANGO_UNTRANSLATED += ["Model name", "Add link", "Breadcrumbs"]
# An evidence item's label with the start of its quote, “…”: the report's words.
EVIDENCE_EXCERPT = re.compile(r"E\d+ “[^”]*”")


def english_words_in(html: str) -> list[str]:
    """The English words, and the days written the English way, in the page's own text."""
    return english_in_text(EVIDENCE_EXCERPT.sub("", visible_text_outside_english(html)))


def english_in_text(text: str) -> list[str]:
    for phrase in DJANGO_UNTRANSLATED:
        text = text.replace(phrase, "")
    found = [word for word in ENGLISH_WORDS if re.search(rf"(?<![\w-]){word}(?![\w-])", text)]
    return found + ENGLISH_DAY.findall(text)


def assert_norwegian_only(client, url: str, status: int = 200, method: str = "get", **data):
    """The page in nb shows no English interface word; the same page in English does (so
    the check would catch a string left out of the catalogue)."""
    send = getattr(client, method)
    norwegian = send(url, data, **NORWEGIAN)
    assert norwegian.status_code == status, (url, norwegian.status_code)
    assert html_lang(norwegian) == "nb", url
    found = english_words_in(norwegian.content.decode())
    assert not found, f"{url} in nb shows English: {found}"
    if method == "get":
        english = send(url, data, **ENGLISH)
        assert english_words_in(english.content.decode()), f"{url}: the check finds nothing"


@pytest.fixture
def norwegian_content(people) -> dict:
    """What users wrote, in Norwegian (it is shown as written), on recommendation 1: positions
    from the ministry and an NGO, a comment, and two published snapshots."""
    from .conftest import make_assessment, publish

    EvidenceItem.objects.update(note="Merknad fra koordinatoren.")  # the fixture's are English
    recommendation = Recommendation.objects.get(report__slug="norway-2024", number=1)
    Responsibility.objects.create(  # overdue: shown with its day
        recommendation=recommendation,
        lead=people["gov"].membership.organization,
        target_date=datetime.date(2025, 12, 1),
    )
    evidence = recommendation.citable_evidence().first()
    make_assessment(recommendation, people["gov"], Status.IN_PROGRESS, rationale="Tiltak pågår.")
    assessment = make_assessment(
        recommendation, people["ngo"], Status.IMPLEMENTED, rationale="Alt er på plass."
    )
    assessment.cited_evidence.set([evidence])
    add_comment(recommendation, author=people["gov"], body="Budsjettet er vedtatt.")
    client = Client()
    older = publish(client, people["coordinator"], title="Første status")
    make_assessment(recommendation, people["gov"], Status.PARTIALLY_IMPLEMENTED, rationale="Mer.")
    newer = publish(client, people["coordinator"], title="Andre status")
    return {"older": older, "newer": newer}


def test_every_page_under_nb_shows_no_english_interface_words(client, people, norwegian_content):
    from .test_lineage import import_veldoria

    import_veldoria()
    older, newer = norwegian_content["older"], norwegian_content["newer"]
    report = "/reports/norway-2024"
    for who in ("ngo", "observer", "coordinator"):
        client.force_login(people[who])
        for url in (
            reverse("reports"),
            f"{report}/",
            f"{report}/?status=IMPLEMENTED&q=politi",
            rec_url("recommendation"),
            f"{report}/source/",
            f"{report}/changes/",  # no earlier report of Norway
            "/reports/veldoria-2025/changes/",
            "/reports/veldoria-2025/recommendations/1/",  # across the years, with a diff
            f"{report}/snapshots/",
            newer.get_absolute_url(),
            f"{report}/snapshots/compare/?older={older.pk}&newer={newer.pk}",
            reverse("password_change"),
            reverse("password_change_done"),
        ):
            assert_norwegian_only(client, url)
    client.force_login(people["ngo"])
    assert_norwegian_only(client, "/reports/nowhere/", status=404)
    assert_norwegian_only(client, "/no/such/page/", status=404)
    assert_norwegian_only(client, reverse("set_language"), status=405)
    assert_norwegian_only(client, f"{report}/snapshots/compare/?older=x", status=400)
    assert_norwegian_only(client, rec_url("follow"), status=400, method="post", follow="x")
    client.force_login(people["observer"])
    assert_norwegian_only(client, rec_url("comment"), status=403, method="post", body="Hei")
    # Coordinators: the admin's report list (actions, columns) and the import page.
    client.force_login(people["coordinator"])
    assert_norwegian_only(client, "/admin/recommendations/report/")
    assert_norwegian_only(client, "/admin/recommendations/report/import/")
    # Curating evidence: the reader with its quote form, the quote panels, the workspace.
    from .test_curation import unquoted_sentence

    item = EvidenceItem.objects.filter(report__slug="norway-2024").first()
    assert_norwegian_only(client, f"{report}/source/")
    start, end = unquoted_sentence(item.report)
    assert_norwegian_only(client, f"{report}/source/quote/?start={start}&end={end}")
    assert_norwegian_only(client, f"{report}/source/quote/?quote=xyzzy", status=422)
    assert_norwegian_only(client, f"{report}/source/evidence/{item.pk}/")
    assert_norwegian_only(client, f"{report}/evidence/")
    assert_norwegian_only(client, "/reports/veldoria-2025/evidence/")


def test_the_pages_without_a_log_in_under_nb_show_no_english(client, people):
    from recommendations.mail import Topic, unsubscribe_token

    unsubscribe = reverse("unsubscribe", args=[unsubscribe_token(people["ngo"], Topic.DIGESTS)])
    assert_norwegian_only(client, unsubscribe)
    assert_norwegian_only(client, unsubscribe, method="post")
    assert_norwegian_only(client, unsubscribe, method="post", resume="1")
    assert_norwegian_only(client, "/unsubscribe/not-a-token/", status=400)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "ngo", "password": "guess"}, **NORWEGIAN)
    assert_norwegian_only(
        client, reverse("login"), status=429, method="post", username="ngo", password="guess"
    )


def test_the_server_error_page_under_nb_shows_no_english(rf):
    from django.utils import translation

    from recommendations.views.errors import server_error

    with translation.override("nb"):
        page = server_error(rf.get("/")).content.decode()
    assert '<html lang="nb">' in page
    assert not english_words_in(page), english_words_in(page)


# --- Norwegian alphabetical order -----------------------------------------------------------------


def test_norwegian_sort_key_puts_ae_oe_aa_after_z():
    from recommendations.presentation import norwegian_sort_key

    names = ["Åsane", "Zeta", "Ørsta", "Bergen", "Ærø", "alta", "Élan"]
    assert sorted(names, key=norwegian_sort_key) == [
        "alta",
        "Bergen",
        "Élan",
        "Zeta",
        "Ærø",
        "Ørsta",
        "Åsane",
    ]


def test_matrix_columns_sort_the_norwegian_way(client, people, norway):
    from recommendations.models import Organization

    from .conftest import make_organization, make_user

    for name in ("Åpen dør", "Zebra-nettverket", "Øst-forum"):
        make_user(name[:3].lower(), make_organization(name))
    client.force_login(people["ngo"])
    page = client.get(reverse("dashboard", args=["norway-2024"])).content.decode()
    ngos = [o.name for o in Organization.objects.filter(kind=Organization.Kind.NGO)]
    positions = {name: page.index(name) for name in ngos if name in page}
    order = sorted(positions, key=positions.get)
    assert order.index("Zebra-nettverket") < order.index("Øst-forum") < order.index("Åpen dør")
    assert order.index("Migrantrådet") < order.index("Zebra-nettverket")


# --- exports in the requester's language ----------------------------------------------------------


def export_url(extension: str) -> str:
    return reverse("export", args=["norway-2024", extension])


def test_csv_and_xlsx_exports_under_nb_have_norwegian_headings(client, people):
    import io

    from openpyxl import load_workbook

    from .conftest import assess_all, download

    assess_all(people)
    client.force_login(people["ngo"])
    client.post(reverse("set_language"), {"language": "nb", "next": "/"})
    header = download(client, export_url("csv")).decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Nummer,Kort tittel,Innsatsområde,Anbefaling,Ansvarlig")
    workbook = load_workbook(io.BytesIO(download(client, export_url("xlsx"))))
    assert workbook.sheetnames == ["Sammendrag", "Historikk", "Dokumentasjon", "Om"]
    assert workbook["Historikk"]["H1"].value == "Status"
    assert workbook["Historikk"]["E1"].value == "Organisasjonstype"
    statuses = {row[7] for row in workbook["Historikk"].iter_rows(min_row=2, values_only=True)}
    assert statuses and statuses <= {
        "Tilbakegang",
        "Ingen fremgang",
        "Under arbeid",
        "Delvis gjennomført",
        "Gjennomført",
    }


def test_exports_under_nb_say_yes_no_and_days_in_norwegian(client, people, norway):
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    from .conftest import assess_all, download

    assess_all(people)
    overdue, later = norway.recommendations.filter(number__in=[1, 2]).order_by("number")
    lead = people["gov"].membership.organization
    for recommendation, day in (
        (overdue, datetime.date(2025, 12, 1)),
        (later, datetime.date(2099, 1, 31)),
    ):
        Responsibility.objects.create(recommendation=recommendation, lead=lead, target_date=day)
    client.force_login(people["ngo"])
    client.post(reverse("set_language"), {"language": "nb", "next": "/"})

    rows = list(csv.reader(download(client, export_url("csv")).decode("utf-8-sig").splitlines()))
    column = rows[0].index("Forfalt")
    assert {row[column] for row in rows[1:]} == {"ja", "nei"}
    assert rows[1][rows[0].index("Frist")] == "2025-12-01"  # CSV keeps days as ISO 8601

    summary = load_workbook(io.BytesIO(download(client, export_url("xlsx"))))["Sammendrag"]
    headings = [cell.value for cell in summary[1]]
    target = summary.cell(row=2, column=headings.index("Frist") + 1)
    assert target.value == datetime.datetime(2025, 12, 1) and target.is_date
    assert target.number_format == "yyyy-mm-dd"
    assert summary.cell(row=4, column=headings.index("Frist") + 1).value is None
    assert {
        row[headings.index("Forfalt")] for row in summary.iter_rows(min_row=2, values_only=True)
    } == {"ja", "nei"}

    pdf = PdfReader(io.BytesIO(download(client, export_url("pdf"))))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Frist: 1. desember 2025" in text
    assert not ENGLISH_DAY.findall(text)


def test_json_export_under_nb_keeps_codes_and_translates_labels(client, people):
    import json

    from .conftest import assess_all, download

    assess_all(people)
    client.force_login(people["ngo"])
    client.post(reverse("set_language"), {"language": "nb", "next": "/"})
    document = json.loads(download(client, export_url("json")))
    assert document["statuses"][0]["value"] == "REGRESSED"
    assert document["statuses"][0]["label"] == "Tilbakegang"
    assessment = document["assessments"][0]
    assert assessment["status"] in {"REGRESSED", "NO_PROGRESS", "IN_PROGRESS"} | {
        "PARTIALLY_IMPLEMENTED",
        "IMPLEMENTED",
    }
    assert (
        assessment["status_label"]
        == {
            "REGRESSED": "Tilbakegang",
            "NO_PROGRESS": "Ingen fremgang",
            "IN_PROGRESS": "Under arbeid",
            "PARTIALLY_IMPLEMENTED": "Delvis gjennomført",
            "IMPLEMENTED": "Gjennomført",
        }[assessment["status"]]
    )
