"""Public status pages: snapshots a coordinator made public, readable by anyone without a log-in,
cacheable by shared caches (no cookies read or set), withdrawn with 410, and the Atom feed."""

import csv
import io
import json
from hashlib import sha256
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from recommendations.models import EvidenceItem, PublicCopy, Report, Snapshot
from recommendations.publishing.public import PUBLIC_GENERATOR, make_public, withdraw
from recommendations.publishing.snapshots import publish_snapshot
from recommendations.views.public import PAGE_DOCUMENTS

from .conftest import assess_all, make_assessment
from .test_snapshots import tamper

BASE = "https://tracker.example.org"
ATOM = "{http://www.w3.org/2005/Atom}"
NOTE = "Coordinators only: ask the ministry about this paragraph."
PERSONAL_NAMES = ["Nina Ås", "Gro Ødegård", "Cora Ordinator"]


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.TRACKER_BASE_URL = BASE


@pytest.fixture(autouse=True)
def documents_read_afresh():
    """No test sees a document another test's copy left in the process (copies made the same
    second from the same data can have the same SHA-256)."""
    PAGE_DOCUMENTS.clear()


@pytest.fixture
def coordinator(people):
    coordinator = people["coordinator"]
    coordinator.first_name, coordinator.last_name = "Cora", "Ordinator"
    coordinator.save()
    return coordinator


@pytest.fixture
def snapshot(people, coordinator, norway) -> Snapshot:
    """A snapshot of assessed positions, with an evidence note among the cited evidence."""
    assess_all(people)
    cited = norway.recommendations.get(number=1).evidence_items.order_by("pk").first()
    EvidenceItem.objects.filter(pk=cited.pk).update(note=NOTE)
    return publish_snapshot(norway, published_by=coordinator, title="Status, March")


def make_public_by_post(client, coordinator, snapshot, **data) -> PublicCopy:
    client.force_login(coordinator)
    url = reverse("snapshot_public", args=[snapshot.report.slug, snapshot.pk])
    response = client.post(url, {"public": "1", **data})
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == snapshot.get_absolute_url()
    client.logout()
    return PublicCopy.objects.current().get(snapshot=snapshot)


def public_url(copy: PublicCopy, extension: str = "") -> str:
    if extension:
        return reverse("public_snapshot_export", args=[copy.sha256, extension])
    return reverse("public_snapshot", args=[copy.sha256])


def assert_shareable(response, max_age: int) -> None:
    """Cacheable by shared caches, with no cookie and no Vary on cookies or language."""
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"public", f"max-age={max_age}"} <= cache_control
    assert "private" not in cache_control
    assert response.has_header("ETag")
    assert not response.cookies
    assert "set-cookie" not in {name.lower() for name in response.headers}
    vary = response.get("Vary", "").lower()
    assert "cookie" not in vary and "accept-language" not in vary


# Making public and withdrawing


def test_a_coordinator_makes_a_snapshot_public_from_its_page(client, coordinator, snapshot):
    client.force_login(coordinator)
    page = client.get(snapshot.get_absolute_url()).content.decode()
    assert "Not public" in page and 'name="public" value="1"' in page

    copy = make_public_by_post(client, coordinator, snapshot)

    assert copy.made_public_by == coordinator and not copy.show_names
    assert copy.history.count() == 1  # recorded in the audit history
    client.force_login(coordinator)
    page = client.get(snapshot.get_absolute_url()).content.decode()
    assert f"{BASE}/public/snapshots/{copy.sha256}/" in page
    assert "Withdraw" in page
    listing = client.get(reverse("snapshots", args=[snapshot.report.slug])).content.decode()
    assert f'href="/public/snapshots/{copy.sha256}/">public</a>' in listing


def test_withdrawing_answers_gone_and_never_changes_the_snapshot(client, coordinator, snapshot):
    copy = make_public_by_post(client, coordinator, snapshot)
    before = Snapshot.objects.values().get(pk=snapshot.pk)
    for path in [public_url(copy), public_url(copy, "json"), public_url(copy, "pdf")]:
        assert client.get(path).status_code == 200

    client.force_login(coordinator)
    url = reverse("snapshot_public", args=[snapshot.report.slug, snapshot.pk])
    assert client.post(url, {"public": "0"}).status_code == 302
    client.logout()

    for path in [public_url(copy), public_url(copy, "json"), public_url(copy, "csv")]:
        response = client.get(path)
        assert response.status_code == 410, path
        assert "withdrawn" in response.content.decode()
    assert client.get("/public/norway/2024/").status_code == 404
    assert "Status, March" not in client.get("/public/").content.decode()
    assert not feed_entries(client.get("/public/feed/"))
    assert Snapshot.objects.values().get(pk=snapshot.pk) == before
    copy.refresh_from_db()
    assert copy.withdrawn_by == coordinator and copy.withdrawn_at is not None
    assert copy.history.count() == 2  # made public, then withdrawn
    assert client.get(snapshot.get_absolute_url()).status_code == 302  # still log-in only


def test_choosing_to_show_names_makes_a_new_copy_and_the_old_address_is_gone(
    client, coordinator, snapshot
):
    hidden = make_public_by_post(client, coordinator, snapshot)
    shown = make_public_by_post(client, coordinator, snapshot, show_names="on")
    assert shown.sha256 != hidden.sha256 and shown.show_names
    assert client.get(public_url(hidden)).status_code == 410
    assert client.get(public_url(shown)).status_code == 200
    # Making it public again with the same choice changes nothing.
    assert make_public_by_post(client, coordinator, snapshot, show_names="on") == shown
    assert PublicCopy.objects.filter(snapshot=snapshot).count() == 2


def test_only_the_publicly_publishing_permission_makes_public(client, people, snapshot):
    url = reverse("snapshot_public", args=[snapshot.report.slug, snapshot.pk])
    for role in ("ngo", "gov", "observer", "staff"):
        client.force_login(people[role])
        assert client.post(url, {"public": "1"}).status_code == 403
        page = client.get(snapshot.get_absolute_url()).content.decode()
        assert 'name="public"' not in page
    assert not PublicCopy.objects.exists()


def test_a_bad_request_to_make_public_is_refused_with_a_message(client, coordinator, snapshot):
    client.force_login(coordinator)
    url = reverse("snapshot_public", args=[snapshot.report.slug, snapshot.pk])
    response = client.post(url, {"public": "maybe"})
    assert response.status_code == 400
    assert "public=1" in response.content.decode()
    missing = reverse("snapshot_public", args=[snapshot.report.slug, snapshot.pk + 99])
    assert client.post(missing, {"public": "1"}).status_code == 404
    assert not PublicCopy.objects.exists()


def test_a_changed_snapshot_is_not_made_public(client, coordinator, snapshot):
    tamper(snapshot, title="Rewritten")
    client.force_login(coordinator)
    url = reverse("snapshot_public", args=[snapshot.report.slug, snapshot.pk])
    assert client.post(url, {"public": "1"}).status_code == 409
    assert not PublicCopy.objects.exists()


# What is public


def test_never_public_and_unknown_snapshots_are_not_found(client, snapshot):
    assert client.get(f"/public/snapshots/{snapshot.content_sha256}/").status_code == 404
    assert client.get(f"/public/snapshots/{'0' * 64}/export.json").status_code == 404
    assert client.get("/public/snapshots/not-a-hash/").status_code == 404
    assert client.get("/public/norway/2024/").status_code == 404
    assert client.get("/public/norway/2024/feed/").status_code == 404
    assert "No status report has been made public yet" in client.get("/public/").content.decode()


def test_the_json_is_byte_for_byte_the_published_snapshot_when_nothing_is_private(
    client, people, coordinator, norway
):
    assess_all(people)
    EvidenceItem.objects.update(note="")
    get_user_model().objects.filter(first_name="").update(first_name="Named")
    snapshot = publish_snapshot(norway, published_by=coordinator, title="Plain")
    copy = make_public(snapshot, by=coordinator, show_names=True)

    response = client.get(public_url(copy, "json"))

    assert response.status_code == 200
    assert response.content == snapshot.content.encode("utf-8")
    assert copy.sha256 == snapshot.content_sha256 == sha256(response.content).hexdigest()
    assert response["Content-Type"].startswith("application/json")
    assert_shareable(response, 31536000)


def test_names_are_replaced_by_organizations_and_notes_never_public(client, coordinator, snapshot):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    published = json.loads(snapshot.content)
    assert any(name in snapshot.content for name in PERSONAL_NAMES)
    assert NOTE in snapshot.content

    json_bytes = client.get(public_url(copy, "json")).content
    document = json.loads(json_bytes)
    assert sha256(json_bytes).hexdigest() == copy.sha256  # the address verifies the copy
    assert document["generated_by"] == PUBLIC_GENERATOR
    for record in document["assessments"]:
        assert record["author"] == record["organization"]
    assert len(document["assessments"]) == len(published["assessments"])
    assert [r["positions"] for r in document["recommendations"]] != [
        r["positions"] for r in published["recommendations"]
    ]

    bodies = {
        "html": client.get(public_url(copy)).content.decode(),
        "json": json_bytes.decode(),
        "csv": client.get(public_url(copy, "csv")).content.decode("utf-8-sig"),
        "latest": client.get("/public/norway/2024/").content.decode(),
        "feed": client.get("/public/feed/").content.decode(),
    }
    # The published snapshot's SHA-256 would let anyone confirm a guess of the hidden names.
    assert snapshot.content_sha256 not in bodies["html"] + bodies["latest"]
    for what, body in bodies.items():
        for name in PERSONAL_NAMES:
            assert name not in body, (what, name)
        assert NOTE not in body, what
        assert '"coordinator"' not in body, what  # nor the publisher's username
    assert "Nettverk mot menneskehandel" in bodies["html"]
    rows = list(csv.reader(io.StringIO(bodies["csv"])))
    assert len(rows) > 10


def test_names_are_shown_when_the_coordinator_chose_so_but_never_notes(
    client, coordinator, snapshot
):
    copy = make_public(snapshot, by=coordinator, show_names=True)
    html = client.get(public_url(copy)).content.decode()
    body = client.get(public_url(copy, "json")).content.decode()
    assert "Nina Ås" in html and "Nina Ås" in body
    assert NOTE not in html and NOTE not in body
    assert copy.sha256 != snapshot.content_sha256  # the note was taken out
    document = json.loads(body)
    assert document["generated_by"] == "Cora Ordinator"  # the publisher chose to show names
    # A reviewer who gave no name is known by a username (it may be an e-mail address):
    # shown by their organization.
    authors = {a["author"] for a in document["assessments"]}
    assert "other" not in authors and "Migrantrådet" in authors
    assert "without their evidence notes" in html


def test_a_publisher_known_only_by_a_username_is_never_named(client, people, snapshot, norway):
    nameless = people["coordinator"]
    nameless.first_name = nameless.last_name = ""
    nameless.save()
    plain = publish_snapshot(norway, published_by=nameless, title="Plain")
    copy = make_public(plain, by=nameless, show_names=True)
    assert json.loads(copy.content)["generated_by"] == PUBLIC_GENERATOR


def test_the_snapshot_page_says_what_it_is_and_how_to_verify_it(client, coordinator, snapshot):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    html = client.get(public_url(copy)).content.decode()
    assert "Status, March" in html and "Norway" in html
    assert copy.sha256 in html
    assert f"curl -s {BASE}/public/snapshots/{copy.sha256}/export.json | sha256sum" in html
    assert "verify_snapshots" in html
    assert '<html lang="en">' in html
    assert f'<link rel="canonical" href="{BASE}/public/snapshots/{copy.sha256}/">' in html
    assert '<meta name="description" content="' in html
    assert "Recommendation 1:" in html  # positions by group, divergence, cited quotes
    cited = snapshot.document["recommendations"][0]["positions"][0]["cited_evidence"][0]
    quote = next(e["quote"] for e in snapshot.document["evidence"] if e["id"] == cited)
    assert escape(quote) in html
    assert "csrfmiddlewaretoken" not in html and "<form" not in html
    assert "Log out" not in html
    assert "Snapshot #" not in html and "#1" not in html  # no count of the snapshots
    assert 'href="/static/css/app.css"' in html  # an address that outlives deploys


def test_the_index_and_the_latest_page_list_what_is_public(client, people, coordinator, snapshot):
    first = make_public(snapshot, by=coordinator, show_names=False)
    later = publish_snapshot(snapshot.report, published_by=coordinator, title="Status, June")
    publish_snapshot(snapshot.report, published_by=coordinator, title="Never public")
    second = make_public(later, by=coordinator, show_names=False)

    index = client.get("/public/")
    assert index.status_code == 200
    assert_shareable(index, 300)
    html = index.content.decode()
    assert 'href="/public/norway/2024/"' in html and "Status, June" in html
    assert "Never public" not in html

    latest = client.get("/public/norway/2024/")
    assert_shareable(latest, 300)
    html = latest.content.decode()
    assert "<h1>Status, June</h1>" in html
    assert f'href="/public/snapshots/{first.sha256}/"' in html  # listed as earlier
    assert second.sha256 in html and "Never public" not in html
    assert client.get("/public/norway/2023/").status_code == 404
    assert client.get("/public/sweden/2024/").status_code == 404


# HTTP


def test_hash_addressed_pages_are_immutable_and_revalidate(client, coordinator, snapshot):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    for path in [public_url(copy), *(public_url(copy, e) for e in ("json", "csv", "pdf"))]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_shareable(response, 31536000)
        assert "immutable" in response["Cache-Control"]
        assert copy.sha256 in response["ETag"]
        again = client.get(path, headers={"if-none-match": response["ETag"]})
        assert again.status_code == 304, path
    head = client.head(public_url(copy))
    assert head.status_code == 200 and not head.content
    assert client.post(public_url(copy)).status_code == 405


def test_the_short_lived_pages_revalidate_by_their_content(client, coordinator, snapshot):
    make_public(snapshot, by=coordinator, show_names=False)
    for path in ["/public/", "/public/norway/2024/", "/public/feed/", "/public/norway/2024/feed/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_shareable(response, 300)
        assert client.get(path, headers={"if-none-match": response["ETag"]}).status_code == 304


def test_no_cookie_is_read_or_set_even_for_a_signed_in_visitor(client, coordinator, snapshot):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    anonymous = client.get(public_url(copy))
    client.force_login(coordinator)
    client.cookies["django_language"] = "nb"
    client.get("/reports/")  # a CSRF cookie and a session, as a signed-in browser holds
    signed_in = client.get(public_url(copy))
    assert signed_in.content == anonymous.content  # the session and language cookie unread
    assert "Cora" not in signed_in.content.decode()
    for path in ["/public/", "/public/feed/", "/robots.txt", public_url(copy, "pdf")]:
        response = client.get(path, headers={"accept-language": "nb"})
        assert not response.cookies, path
        assert "cookie" not in response.get("Vary", "").lower(), path
    # An address under /public/ that matches nothing sets no cookie either, and is not kept
    # by a shared cache (it is in the visitor's Accept-Language).
    missing = client.get("/public/nothing/here/", headers={"accept-language": "nb"})
    assert missing.status_code == 404 and not missing.cookies
    assert missing["Cache-Control"] == "no-store"


def test_a_changed_public_copy_is_never_served(client, coordinator, snapshot):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    changed = copy.content.replace("Nettverk mot menneskehandel", "Someone else")
    PublicCopy.objects.filter(pk=copy.pk).update(content=changed)
    response = client.get(public_url(copy, "json"))
    assert response.status_code == 409
    assert response["Cache-Control"] == "no-store"
    assert client.get("/public/norway/2024/").status_code == 409
    assert client.get(public_url(copy, "pdf")).status_code == 409
    # Rewritten together with its hash, the signature still gives it away.
    PublicCopy.objects.filter(pk=copy.pk).update(sha256=sha256(changed.encode()).hexdigest())
    assert (
        client.get(f"/public/snapshots/{sha256(changed.encode()).hexdigest()}/").status_code == 409
    )


def test_robots_allow_only_the_public_pages(client, db):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "User-agent: *",
        "Allow: /public/",
        "Allow: /static/",
        "Allow: /status.css",
        "Disallow: /",
    ]


# Languages


def test_the_pages_speak_norwegian_when_asked(client, coordinator, snapshot):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    response = client.get(public_url(copy) + "?lang=nb")
    html = response.content.decode()
    assert response["Content-Language"] == "nb"
    assert '<html lang="nb">' in html
    assert "Last ned og kontroller" in html
    assert f'<link rel="canonical" href="{BASE}/public/snapshots/{copy.sha256}/?lang=nb">' in html
    assert f'hreflang="en" href="{BASE}/public/snapshots/{copy.sha256}/"' in html
    assert "Offentlige statusrapporter" in client.get("/public/?lang=nb").content.decode()
    english = client.get(public_url(copy), headers={"accept-language": "nb"})
    assert '<html lang="en">' in english.content.decode()  # the address decides, not the header
    assert client.get(public_url(copy) + "?lang=xx").status_code == 400
    pdf = client.get(public_url(copy, "pdf") + "?lang=nb")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["ETag"] != client.get(public_url(copy, "pdf"))["ETag"]


# The feed


def feed_entries(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "link": entry.find(f"{ATOM}link").get("href"),
            "id": entry.findtext(f"{ATOM}id"),
            "updated": entry.findtext(f"{ATOM}updated"),
        }
        for entry in root.findall(f"{ATOM}entry")
    ]


def test_the_feed_lists_newly_public_snapshots(client, coordinator, snapshot):
    first = make_public(snapshot, by=coordinator, show_names=False)
    text = "VALDORNE: TIER 2\nA fictional chapter with no recommendation yet."
    valdorne = Report.objects.create(
        slug="valdorne-2025",
        title="2025 Trafficking in Persons Report: Valdorne",
        country="Valdorne",
        year=2025,
        tier=Report.Tier.TIER_2,
        source_text=text,
        source_sha256=sha256(text.encode()).hexdigest(),
        source_name="fictional",
    )
    other = make_public(
        publish_snapshot(valdorne, published_by=coordinator, title="Valdorne status"),
        by=coordinator,
        show_names=False,
    )

    entries = feed_entries(client.get("/public/feed/"))
    assert [e["title"] for e in entries] == [
        "Valdorne 2025: Valdorne status",
        "Norway 2024: Status, March",
    ]
    assert entries[0]["link"] == f"{BASE}/public/snapshots/{other.sha256}/"
    assert entries[1]["link"] == f"{BASE}/public/snapshots/{first.sha256}/"
    root = ElementTree.fromstring(client.get("/public/feed/").content)
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == f"{BASE}/public/feed/"

    norway_only = feed_entries(client.get("/public/norway/2024/feed/"))
    assert [e["link"] for e in norway_only] == [entries[1]["link"]]
    norwegian = ElementTree.fromstring(client.get("/public/feed/?lang=nb").content)
    assert norwegian.get("{http://www.w3.org/XML/1998/namespace}lang") == "nb"
    assert "Offentlige" in norwegian.findtext(f"{ATOM}title")
    links = [e.find(f"{ATOM}link").get("href") for e in norwegian.findall(f"{ATOM}entry")]
    assert links[1] == f"{BASE}/public/snapshots/{first.sha256}/?lang=nb"
    unknown = client.get("/public/nowhere/2024/feed/")
    assert unknown.status_code == 404 and "max-age=60" in unknown["Cache-Control"]


def test_the_public_pages_take_few_queries(
    client, coordinator, snapshot, django_assert_max_num_queries
):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    for path in [public_url(copy), public_url(copy, "csv"), "/public/", "/public/norway/2024/"]:
        with django_assert_max_num_queries(3):  # the copy's JSON is read once per process
            assert client.get(path).status_code == 200
    for path in [public_url(copy), "/public/norway/2024/"]:
        with django_assert_max_num_queries(2) as queries:
            assert client.get(path).status_code == 200
        assert not any('"content"' in query["sql"] for query in queries.captured_queries)


def test_a_pdf_is_made_once_per_language_however_often_it_is_asked_for(
    client, coordinator, snapshot, monkeypatch
):
    from recommendations import publishing

    made = []
    render = publishing.render

    def counting(document, extension):
        made.append(extension)
        return render(document, extension)

    monkeypatch.setattr(publishing, "render", counting)
    copy = make_public(snapshot, by=coordinator, show_names=False)
    first = client.get(public_url(copy, "pdf")).content
    assert client.get(public_url(copy, "pdf")).content == first
    client.get(public_url(copy, "pdf") + "?lang=nb")
    client.get(public_url(copy, "csv"))
    assert made == ["pdf", "pdf", "csv"]


def test_made_public_again_after_withdrawal_answers_again(client, coordinator, snapshot):
    hidden = make_public(snapshot, by=coordinator, show_names=False)
    withdraw(snapshot, by=coordinator)
    again = make_public(snapshot, by=coordinator, show_names=False)
    assert again.sha256 == hidden.sha256 and again.pk != hidden.pk
    assert client.get(public_url(again)).status_code == 200
    assert client.get(public_url(again, "json")).status_code == 200
    shown = make_public(snapshot, by=coordinator, show_names=True)
    hidden_again = make_public(snapshot, by=coordinator, show_names=False)
    assert client.get(public_url(shown)).status_code == 410
    assert client.get(public_url(hidden_again)).status_code == 200


def test_a_snapshot_page_never_shows_what_changes_after_it_was_made_public(
    client, people, coordinator, snapshot
):
    first = make_public(snapshot, by=coordinator, show_names=False)
    make_assessment(snapshot.report.recommendations.get(number=2), people["ngo"])
    later = publish_snapshot(snapshot.report, published_by=coordinator, title="Status, June")
    make_public(later, by=coordinator, show_names=False)
    page = client.get(public_url(first)).content.decode()
    assert "Status, June" not in page  # the others are on the report's page
    assert 'href="/public/norway/2024/"' in page
    withdraw(later, by=coordinator)
    assert client.get(public_url(first)).content.decode() == page


def test_labels_are_in_the_language_of_the_page_not_of_the_publisher(
    client, people, coordinator, norway
):
    assess_all(people)
    with translation.override("nb"):
        snapshot = publish_snapshot(norway, published_by=coordinator, title="Norsk")
    assert "Beskyttelse" in snapshot.content
    copy = make_public(snapshot, by=coordinator, show_names=False)
    english = client.get(public_url(copy)).content.decode()
    assert "Pillar: Protection" in english and "Beskyttelse" not in english
    norwegian = client.get(public_url(copy) + "?lang=nb").content.decode()
    assert "Beskyttelse" in norwegian
    csv_text = client.get(public_url(copy, "csv")).content.decode("utf-8-sig")
    assert "Protection" in csv_text and "Beskyttelse" not in csv_text


def test_only_coordinators_withdraw(client, people, coordinator, snapshot):
    copy = make_public(snapshot, by=coordinator, show_names=False)
    url = reverse("snapshot_public", args=[snapshot.report.slug, snapshot.pk])
    for role in ("ngo", "gov", "observer", "staff"):
        client.force_login(people[role])
        assert client.post(url, {"public": "0"}).status_code == 403
    client.logout()
    assert client.post(url, {"public": "0"}).status_code == 302  # to the log-in page
    assert client.get(public_url(copy)).status_code == 200
