"""Issue 12, item 9: a favicon, a print stylesheet and a read-only notice for observers."""

import re

from django.urls import reverse

from .conftest import ROOT


def test_every_page_links_a_favicon_that_is_served(client, people):
    client.force_login(people["observer"])
    html = client.get(reverse("source", args=["norway-2024"])).content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert link, "no favicon link"
    assert link.group(1).endswith(".svg")
    assert (ROOT / "static" / "favicon.svg").read_text().lstrip().startswith("<svg")


def test_favicon_ico_redirects_to_the_icon_even_when_signed_out(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("favicon.svg")
    assert "/accounts/login/" not in response["Location"]


def test_a_printed_page_has_no_header_and_no_forms(client, people):
    client.force_login(people["ngo"])
    html = client.get(reverse("recommendation", args=["norway-2024", 1])).content.decode()
    link = re.search(r'<link rel="stylesheet" href="([^"]+)" media="print">', html)
    assert link and link.group(1).endswith("print.css")
    css = (ROOT / "static" / "css" / "print.css").read_text()
    hidden = [
        selector.strip()
        for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css.split("*/", 1)[1])
        if "display: none" in body
        for selector in selectors.split(",")
    ]
    for selector in (".site-header", "form", ".skip-link"):
        assert selector in hidden, selector
    assert "<form" in html  # a reviewer's page has forms, which print.css hides


def test_observers_are_told_they_read_only(client, people):
    client.force_login(people["observer"])
    html = client.get(reverse("recommendation", args=["norway-2024", 1])).content.decode()
    assert 'class="read-only-notice"' in html and "Read only." in html
    assert people["observer"].membership.organization.name in html
    assert 'id="assess-form"' not in html


def test_reviewers_of_another_country_are_told_why_they_read_only(client, people):
    from .conftest import make_organization, make_user

    swede = make_user("swede", make_organization("Svenska nätverket", country="Sweden"))
    client.force_login(swede)
    html = client.get(reverse("recommendation", args=["norway-2024", 1])).content.decode()
    assert 'class="read-only-notice"' in html and 'id="assess-form"' not in html
    assert (
        "Svenska nätverket assesses the reports on Sweden, and this one is on Norway: you can "
        "read it all, but record assessments and comments only on your own country's reports."
    ) in " ".join(html.split())


def test_reviewers_get_the_forms_and_no_read_only_notice(client, people):
    client.force_login(people["ngo"])
    html = client.get(reverse("recommendation", args=["norway-2024", 1])).content.decode()
    assert 'id="assess-form"' in html and "read-only-notice" not in html
