"""Published snapshots: publishing one, reading it and its exports, comparing two, noticing
tampering, and the admin's snapshot actions."""

import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils.crypto import salted_hmac
from openpyxl import load_workbook
from pypdf import PdfReader

from recommendations.importer import import_report
from recommendations.models import AppendOnlyError, Recommendation, Report, Snapshot, Status
from recommendations.publishing.snapshots import compare_documents
from recommendations.publishing.tables import FIRST_ORGANIZATION_COLUMN

from .conftest import (
    EXPORT,
    admin_action,
    as_the_owner,
    assess_all,
    download,
    make_assessment,
    publish,
)


def test_a_snapshot_and_its_exports_stay_frozen_while_live_data_moves_on(client, people):
    assess_all(people)
    snapshot = publish(client, people["coordinator"])
    content, sha256 = snapshot.content, snapshot.content_sha256
    assert sha256 == hashlib.sha256(content.encode("utf-8")).hexdigest()
    assert snapshot.published_by == people["coordinator"]
    r = Recommendation.objects.get(number=1)
    before = json.loads(content)["recommendations"][0]["groups"]["GOVERNMENT"]["lowest"]

    # Everything that happens afterwards leaves the snapshot as it was.
    make_assessment(r, people["gov"], status=Status.REGRESSED, rationale="Later news.")
    r.short_title = "Renamed later"
    r.save()
    snapshot.refresh_from_db()
    assert (snapshot.content, snapshot.content_sha256) == (content, sha256)
    assert not snapshot.problems()

    client.force_login(people["observer"])
    base = f"/reports/norway-2024/snapshots/{snapshot.pk}/export."
    published_json = download(client, base + "json")
    assert published_json == content.encode("utf-8")
    assert hashlib.sha256(published_json).hexdigest() == sha256
    row = next(csv.DictReader(io.StringIO(download(client, base + "csv").decode("utf-8-sig"))))
    assert row["Justisdepartementet"] == Status(before).label != "Regressed"
    assert row["Short title"] != "Renamed later"
    history = download(client, base + "csv?table=history").decode("utf-8-sig")
    assert "Later news." not in history
    sheet = load_workbook(io.BytesIO(download(client, base + "xlsx")))["Summary"]
    assert sheet.cell(row=2, column=FIRST_ORGANIZATION_COLUMN + 1).value == Status(before).label
    pdf = PdfReader(io.BytesIO(download(client, base + "pdf")))
    assert "Renamed later" not in " ".join(page.extract_text() for page in pdf.pages)

    # And the live export has moved on.
    live = json.loads(download(client, EXPORT.format("json")))
    assert live["recommendations"][0]["groups"]["GOVERNMENT"]["lowest"] == Status.REGRESSED


def test_snapshots_cannot_be_changed_or_deleted(client, people):
    snapshot = publish(client, people["coordinator"])
    snapshot.title = "Rewritten"
    with pytest.raises(AppendOnlyError):
        snapshot.save()
    with pytest.raises(AppendOnlyError):
        snapshot.delete()
    with pytest.raises(AppendOnlyError):
        Snapshot.objects.update(content="{}")
    with pytest.raises(AppendOnlyError):
        Snapshot.objects.all().delete()


def tamper(snapshot: Snapshot, **columns: object) -> None:
    """Change stored columns of a snapshot as only the database's owner still could (the
    append-only trigger switched off for the statement)."""
    assignments = ", ".join(f"{column} = %s" for column in columns)
    with as_the_owner(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"UPDATE recommendations_snapshot SET {assignments} WHERE id = %s",
            [*columns.values(), snapshot.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
    snapshot.refresh_from_db()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assert_refused_everywhere(client, people, snapshot: Snapshot, other: Snapshot, why: str):
    superuser = people["superuser"]
    """The snapshot's page warns and shows none of its content; every download and the
    comparison are refused with an explanation (409), never a 500; the list and admin say so."""
    client.force_login(people["observer"])
    page = client.get(snapshot.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "no longer what was published" in html and why in html
    assert "Download:" not in html and "Sweden" not in html
    base = f"/reports/norway-2024/snapshots/{snapshot.pk}/export."
    for extension in ("csv", "xlsx", "pdf", "json", "csv?table=history"):
        response = client.get(base + extension)
        assert response.status_code == 409, extension
        assert why in response.content.decode(), extension
        assert "Content-Disposition" not in response, extension
    compare = client.get(
        "/reports/norway-2024/snapshots/compare/", {"older": other.pk, "newer": snapshot.pk}
    )
    assert compare.status_code == 409 and why in compare.content.decode()
    listing = client.get("/reports/norway-2024/snapshots/").content.decode()
    assert listing.count("changed since it was published") == 1
    assert "problem(s)" in verify_output(expect_failure=True)

    client.force_login(superuser)
    response = admin_action(client, "snapshot", "download_json", [snapshot.pk])
    assert response.status_code == 302  # back to the list with the refusal as a message
    follow = client.get(response["Location"]).content.decode()
    assert "no longer what was published" in follow


def verify_output(expect_failure: bool = False) -> str:
    out = io.StringIO()
    if expect_failure:
        with pytest.raises(CommandError) as failed:
            call_command("verify_snapshots", stdout=out)
        return str(failed.value)
    call_command("verify_snapshots", stdout=out)
    return out.getvalue()


def test_published_snapshots_are_chained_and_signed(client, people):
    first = publish(client, people["coordinator"], "First")
    second = publish(client, people["coordinator"], "Second")
    assert first.previous_sha256 == ""
    assert second.previous_sha256 == first.chain_sha256
    # The chain covers the report, title, publisher and publication date too.
    assert second.chain_sha256 == sha256(
        first.chain_sha256 + second.content_sha256 + sha256(second.signed_metadata)
    )
    assert json.loads(second.signed_metadata) == {
        "report": {"id": second.report_id, "slug": "norway-2024"},
        "title": "Second",
        "published_by": {"id": people["coordinator"].pk, "username": "coordinator"},
        "published_at": second.published_at.isoformat(timespec="microseconds"),
    }
    assert second.signing_scheme == Snapshot.CONTENT_AND_METADATA
    assert not first.problems() and not second.problems()
    assert "2 snapshot(s) verified" in verify_output()
    assert second.chain_sha256 in verify_output()


def test_changed_content_is_refused_everywhere(client, people, superuser):
    people = {**people, "superuser": superuser}
    other = publish(client, people["coordinator"], "Earlier")
    snapshot = publish(client, people["coordinator"])
    tamper(snapshot, content=snapshot.content.replace("Norway", "Sweden"))
    why = "no longer matches the SHA-256"
    assert why in " ".join(snapshot.problems())
    assert_refused_everywhere(client, people, snapshot, other, why)


def test_content_that_is_no_longer_json_gives_no_server_error(client, people, superuser):
    people = {**people, "superuser": superuser}
    other = publish(client, people["coordinator"], "Earlier")
    snapshot = publish(client, people["coordinator"])
    truncated = snapshot.content[: len(snapshot.content) // 2]
    tamper(snapshot, content=truncated)
    assert_refused_everywhere(client, people, snapshot, other, "no longer matches the SHA-256")
    tamper(snapshot, content=truncated, content_sha256=sha256(truncated))
    assert "invalid JSON" in " ".join(snapshot.problems())
    assert_refused_everywhere(client, people, snapshot, other, "invalid JSON")


def test_content_rewritten_with_its_hashes_is_found_by_the_signature(client, people, superuser):
    people = {**people, "superuser": superuser}
    other = publish(client, people["coordinator"], "Earlier")
    snapshot = publish(client, people["coordinator"])
    forged = snapshot.content.replace("Norway", "Sweden")
    tamper(snapshot, content=forged, content_sha256=sha256(forged))
    assert_refused_everywhere(client, people, snapshot, other, "chain SHA-256 does not cover")
    # Recomputing the chain too does not help: the signature needs the server's key.
    tamper(
        snapshot,
        chain_sha256=sha256(
            snapshot.previous_sha256 + sha256(forged) + sha256(snapshot.signed_metadata)
        ),
    )
    assert snapshot.problems() == [
        "Its signature does not match: its content and hashes were rewritten without the "
        "server's key (or the server's secret key changed without a fallback)."
    ]
    assert_refused_everywhere(client, people, snapshot, other, "signature does not match")


def test_a_changed_earlier_snapshot_breaks_the_chain_after_it(client, people):
    first = publish(client, people["coordinator"], "First")
    second = publish(client, people["coordinator"], "Second")
    tamper(first, chain_sha256="0" * 64)
    assert "does not follow the report's snapshot before it" in " ".join(second.problems())
    assert first.problems()


# --- the metadata: report, title, publisher, publication date ---------------------------------


@pytest.fixture
def sweden(norway, seed_bytes) -> Report:
    """A second report: the same chapter, renamed."""
    text = seed_bytes.decode("utf-8").replace("Norway", "Sweden").replace("NORWAY", "SWEDEN")
    return import_report(text.encode(), name="renamed", country="Sweden", year=2024).report


def timestamp(value) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def assert_not_verified(client, people, snapshot: Snapshot, why: str) -> None:
    """The page says not verified and why, shows no content, the downloads are refused, and
    verify_snapshots fails naming the snapshot and what changed."""
    client.force_login(people["observer"])
    html = client.get(snapshot.get_absolute_url()).content.decode()
    assert "no longer what was published" in html and why in html
    assert "verified" not in html.split("problems-heading")[0]
    assert "Download:" not in html
    json_download = f"/reports/{snapshot.report.slug}/snapshots/{snapshot.pk}/export.json"
    assert client.get(json_download).status_code == 409
    failure = verify_output(expect_failure=True)
    assert f"snapshot {snapshot.pk} (" in failure and why in failure


@pytest.mark.parametrize(
    "column, why",
    [
        ("title", "Its title is not the one it was published with."),
        ("published_by_id", "Its publisher is not the one who published it"),
        ("published_at", "Its publication date is not the one it was published with."),
    ],
)
def test_a_changed_title_publisher_or_date_is_found(client, people, column, why):
    first = publish(client, people["coordinator"], "First")
    snapshot = publish(client, people["coordinator"], "For the minister")
    value = {
        "title": "Approved by the minister",
        "published_by_id": people["gov"].pk,
        "published_at": timestamp(snapshot.published_at - timedelta(days=30)),
    }[column]
    tamper(snapshot, **{column: value})
    problems = snapshot.problems()
    assert len(problems) == 1 and why in problems[0]
    assert not first.problems()  # the others still verify
    assert_not_verified(client, people, snapshot, why)


def test_a_renamed_publisher_is_found(client, people):
    snapshot = publish(client, people["coordinator"])
    people["coordinator"].username = "someone.else"
    people["coordinator"].save()
    snapshot = Snapshot.objects.select_related("published_by").get(pk=snapshot.pk)
    assert "Its publisher is not the one who published it" in " ".join(snapshot.problems())


def test_a_first_snapshot_moved_to_another_report_is_found(client, people, sweden):
    snapshot = publish(client, people["coordinator"])
    tamper(snapshot, report_id=sweden.pk)
    why = "Its report is not the one it was published for"
    assert [problem[: len(why)] for problem in snapshot.problems()] == [why]
    assert_not_verified(client, people, snapshot, why)


def test_metadata_rewritten_with_the_hashes_is_found_by_the_signature(client, people):
    snapshot = publish(client, people["coordinator"], "For the minister")
    metadata = json.loads(snapshot.signed_metadata) | {"title": "Approved by the minister"}
    forged = json.dumps(metadata)
    tamper(snapshot, title="Approved by the minister", signed_metadata=forged)
    assert "does not cover its content, its signed title" in " ".join(snapshot.problems())
    chain = sha256(snapshot.previous_sha256 + snapshot.content_sha256 + sha256(forged))
    tamper(snapshot, chain_sha256=chain)
    assert len(snapshot.problems()) == 1
    assert_not_verified(client, people, snapshot, "signature does not match")


def sign_as_before_metadata_was_signed(snapshot: Snapshot) -> None:
    """Turn a snapshot into one published before the metadata was signed, with the server's
    key, as the earlier code wrote it: its chain and signature cover the content only."""
    chain = sha256(snapshot.previous_sha256 + snapshot.content_sha256)
    signature = salted_hmac(
        "recommendations.Snapshot.chain", chain, secret=settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()
    tamper(snapshot, signing_scheme=1, signed_metadata="", chain_sha256=chain, signature=signature)


def test_snapshots_signed_before_the_metadata_say_what_they_do_not_vouch_for(client, people):
    snapshot = publish(client, people["coordinator"], "Spring status")
    sign_as_before_metadata_was_signed(snapshot)
    later = publish(client, people["coordinator"], "Autumn status")
    assert snapshot.problems() == [] and later.problems() == []
    caveat = "Title, publisher, date and report not signed (signed before they were)"
    assert caveat in snapshot.metadata_caveat() and later.metadata_caveat() == ""

    client.force_login(people["observer"])
    html = client.get(snapshot.get_absolute_url()).content.decode()
    assert caveat in html and "content, chain and signature verified" in html
    assert "Download:" in html and "title, publisher, date, report" not in html
    html = client.get(later.get_absolute_url()).content.decode()
    assert caveat not in html
    assert "content, title, publisher, date, report, chain and signature verified" in html
    listing = client.get("/reports/norway-2024/snapshots/").content.decode()
    assert listing.count("title, publisher, date and report not signed") == 1

    output = verify_output()  # the content still verifies: no failure
    assert "2 snapshot(s) verified" in output
    assert f"snapshot {snapshot.pk} (norway-2024, “Spring status”" in output
    assert "title, publisher, date and report not signed" in output
    assert f"snapshot {later.pk} (" not in output


def test_an_old_first_snapshot_moved_to_another_report_is_found_by_its_content(
    client, people, sweden
):
    snapshot = publish(client, people["coordinator"])
    sign_as_before_metadata_was_signed(snapshot)
    tamper(snapshot, report_id=sweden.pk)
    why = "Its content is the status report of norway-2024, not of the report it is under."
    assert snapshot.problems() == [why]
    assert_not_verified(client, people, snapshot, why)


def test_a_snapshot_cannot_be_passed_off_as_signed_before_the_metadata(client, people):
    """Without the key, a snapshot cannot be moved back to the scheme that vouches for less."""
    snapshot = publish(client, people["coordinator"], "For the minister")
    tamper(
        snapshot,
        signing_scheme=1,
        title="Approved by the minister",
        chain_sha256=sha256(snapshot.previous_sha256 + snapshot.content_sha256),
    )
    assert_not_verified(client, people, snapshot, "signature does not match")


def test_the_signature_survives_a_key_rotation_with_a_fallback(client, people, settings):
    snapshot = publish(client, people["coordinator"])
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert "signature does not match" in " ".join(snapshot.problems())
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert snapshot.problems() == []


def test_comparing_snapshots_lists_status_changes_and_who_made_them(client, people):
    one, two = Recommendation.objects.get(number=1), Recommendation.objects.get(number=2)
    make_assessment(one, people["gov"], status=Status.IN_PROGRESS)
    make_assessment(one, people["ngo"], status=Status.NO_PROGRESS)
    first = publish(client, people["coordinator"], "March")
    make_assessment(one, people["gov"], status=Status.IMPLEMENTED)  # changed
    make_assessment(one, people["ngo"], status=Status.NO_PROGRESS, rationale="Still none.")
    make_assessment(two, people["other"], status=Status.REGRESSED)  # first assessment
    second = publish(client, people["coordinator"], "September")

    changes = compare_documents(first.document, second.document)
    assert [
        (c.number, c.organization, c.before and c.before["status"], c.after["status"])
        for c in changes
    ] == [
        (1, "Justisdepartementet", "IN_PROGRESS", "IMPLEMENTED"),
        (2, "Migrantrådet", None, "REGRESSED"),
    ]
    assert changes[0].after["author"] == "Gro Ødegård"
    assert changes[0].steps == 2
    assert changes[1].steps is None

    client.force_login(people["observer"])
    # The order of the two does not matter: the comparison runs from the earlier to the later.
    response = client.get(
        "/reports/norway-2024/snapshots/compare/", {"older": second.pk, "newer": first.pk}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 changes of status" in page
    assert "Gro Ødegård" in page
    assert "Migrantrådet" in page
    assert "Nettverk mot menneskehandel" not in page.split("changes-heading")[1]


def test_compare_refuses_bad_choices(client, people):
    first = publish(client, people["coordinator"])
    client.force_login(people["observer"])
    url = "/reports/norway-2024/snapshots/compare/"
    response = client.get(url, {"older": first.pk, "newer": first.pk})
    assert response.status_code == 400
    assert "Pick two different snapshots." in response.content.decode()
    assert client.get(url, {"older": first.pk, "newer": 9999}).status_code == 400
    assert client.get(url).status_code == 400


def test_who_may_publish_and_read_snapshots(client, people):
    for who in ("observer", "gov", "ngo"):
        client.force_login(people[who])
        response = client.post("/reports/norway-2024/snapshots/", {"title": "Mine"})
        assert response.status_code == 403
    assert not Snapshot.objects.exists()

    snapshot = publish(client, people["coordinator"], "For the minister")
    for who in ("observer", "ngo"):
        client.force_login(people[who])
        listing = client.get("/reports/norway-2024/snapshots/").content.decode()
        assert "For the minister" in listing
        assert "Publish snapshot" not in listing
        assert client.get(snapshot.get_absolute_url()).status_code == 200


def test_publishing_needs_a_title(client, people):
    client.force_login(people["coordinator"])
    response = client.post("/reports/norway-2024/snapshots/", {"title": "   "})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not Snapshot.objects.exists()


# --- admin actions ---------------------------------------------------------------------------


def test_admin_publishes_and_downloads_snapshots(superuser_client, people, norway):
    assess_all(people)
    response = admin_action(superuser_client, "report", "publish_snapshot", [norway.pk])
    assert response.status_code == 302
    snapshot = Snapshot.objects.get()
    response = admin_action(superuser_client, "snapshot", "download_json", [snapshot.pk])
    assert response.content == snapshot.content.encode("utf-8")
    response = admin_action(superuser_client, "snapshot", "download_csv", [snapshot.pk])
    url = f"/reports/norway-2024/snapshots/{snapshot.pk}/export.csv"
    assert response.content == download(superuser_client, url)
    assert (
        superuser_client.get(f"/admin/recommendations/snapshot/{snapshot.pk}/change/").status_code
        == 200
    )


def test_admin_snapshot_download_needs_exactly_one_selection(
    superuser_client, superuser, people, norway
):
    first = publish(superuser_client, people["coordinator"], "One")
    second = publish(superuser_client, people["coordinator"], "Two")
    superuser_client.force_login(superuser)
    response = admin_action(superuser_client, "snapshot", "download_pdf", [first.pk, second.pk])
    assert response.status_code == 302
    page = superuser_client.get(response["Location"]).content.decode()
    assert "Select exactly one to download" in page
    assert Snapshot.objects.count() == 2


def test_a_snapshots_compare_form_runs_from_the_older_to_the_newer(client, people):
    first = publish(client, people["coordinator"], "March")
    second = publish(client, people["coordinator"], "June")
    third = publish(client, people["coordinator"], "September")
    client.force_login(people["observer"])
    for shown, older, newer in (
        (first, first, second),
        (second, first, second),
        (third, second, third),
    ):
        response = client.get(f"/reports/norway-2024/snapshots/{shown.pk}/")
        assert (response.context["compare_older"], response.context["compare_newer"]) == (
            older,
            newer,
        ), shown.title
        form = response.content.decode().split('class="compare-form"')[1]
        older_select, newer_select = form.split('id="id_newer"')
        assert f'value="{older.pk}" selected' in older_select
        assert f'value="{newer.pk}" selected' in newer_select


def test_a_snapshots_divergence_says_which_side_has_assessed(client, people):
    make_assessment(Recommendation.objects.get(number=1), people["gov"], Status.IN_PROGRESS)
    make_assessment(Recommendation.objects.get(number=2), people["ngo"], Status.IN_PROGRESS)
    snapshot = publish(client, people["coordinator"])
    client.force_login(people["observer"])
    html = client.get(f"/reports/norway-2024/snapshots/{snapshot.pk}/").content.decode()
    assert "Only government has assessed" in html
    assert "Only NGOs have assessed" in html
    assert "Neither has assessed" in html
