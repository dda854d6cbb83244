"""Published snapshots: publishing one, reading it and its exports, comparing two, noticing
tampering, and the admin's snapshot actions."""

import csv
import hashlib
import io
import json

import pytest
from django.db import connection
from openpyxl import load_workbook
from pypdf import PdfReader

from recommendations.models import AppendOnlyError, Recommendation, Snapshot, Status
from recommendations.publishing.snapshots import compare_documents

from .conftest import EXPORT, admin_action, assess_all, download, make_assessment, publish


def test_a_snapshot_and_its_exports_stay_frozen_while_live_data_moves_on(client, people):
    assess_all(people)
    snapshot = publish(client, people["coordinator"])
    content, sha256 = snapshot.content, snapshot.content_sha256
    assert sha256 == hashlib.sha256(content.encode("utf-8")).hexdigest()
    assert snapshot.published_by == people["coordinator"]
    r = Recommendation.objects.get(number=1)
    before = json.loads(content)["recommendations"][0]["government"]["status"]

    # Everything that happens afterwards leaves the snapshot as it was.
    make_assessment(r, people["gov"], status=Status.REGRESSED, rationale="Later news.")
    r.short_title = "Renamed later"
    r.save()
    snapshot.refresh_from_db()
    assert (snapshot.content, snapshot.content_sha256) == (content, sha256)
    assert snapshot.is_intact

    client.force_login(people["observer"])
    base = f"/reports/norway-2024/snapshots/{snapshot.pk}/export."
    published_json = download(client, base + "json")
    assert published_json == content.encode("utf-8")
    assert hashlib.sha256(published_json).hexdigest() == sha256
    row = next(csv.DictReader(io.StringIO(download(client, base + "csv").decode("utf-8-sig"))))
    assert row["Government status"] == Status(before).label != "Regressed"
    assert row["Short title"] != "Renamed later"
    history = download(client, base + "csv?table=history").decode("utf-8-sig")
    assert "Later news." not in history
    sheet = load_workbook(io.BytesIO(download(client, base + "xlsx")))["Summary"]
    assert sheet.cell(row=2, column=5).value == Status(before).label
    pdf = PdfReader(io.BytesIO(download(client, base + "pdf")))
    assert "Renamed later" not in " ".join(page.extract_text() for page in pdf.pages)

    # And the live export has moved on.
    live = json.loads(download(client, EXPORT.format("json")))
    assert live["recommendations"][0]["government"]["status"] == Status.REGRESSED


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


def test_tampered_snapshot_content_is_flagged(client, people):
    snapshot = publish(client, people["coordinator"])
    with connection.cursor() as cursor:  # what the database's owner could still do
        if connection.vendor == "postgresql":  # a superuser can switch triggers off
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE recommendations_snapshot SET content = %s WHERE id = %s",
            [snapshot.content.replace("Norway", "Sweden"), snapshot.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
    snapshot.refresh_from_db()
    assert not snapshot.is_intact
    page = client.get(snapshot.get_absolute_url()).content.decode()
    assert "no longer matches" in page


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
