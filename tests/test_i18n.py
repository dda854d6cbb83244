"""The interface in English or Norwegian (bokmål), per user; the report's text stays English."""

import re

from django.conf import settings
from django.urls import reverse

from recommendations.models import Preferences

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
    """The page's text and labels, without the report's own English (lang="en" elements)."""
    from html.parser import HTMLParser

    void = {"br", "input", "meta", "link", "img", "hr", "source", "wbr", "col"}

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[bool] = []
            self.english = 0
            self.parts: list[str] = []

        def handle_starttag(self, tag, attrs) -> None:
            if tag in void:
                return
            english = tag != "html" and dict(attrs).get("lang") == "en"
            self.stack.append(english)
            self.english += english

        def handle_endtag(self, tag) -> None:
            if tag not in void and self.stack:
                self.english -= self.stack.pop()

        def handle_data(self, data) -> None:
            if not self.english:
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
