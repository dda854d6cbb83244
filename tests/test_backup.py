import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction

from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    Recommendation,
    Report,
    Snapshot,
    Status,
)
from recommendations.publishing.document import build_document
from recommendations.publishing.snapshots import publish_snapshot

from .conftest import (
    FIXTURES,
    allow_publishing,
    as_the_owner,
    make_assessment,
    make_organization,
    make_user,
)

pytestmark = pytest.mark.django_db(transaction=True)


def live_document() -> dict:
    report = Report.objects.get()
    user = get_user_model().objects.get(username="ngo")
    document = build_document(report, report.recommendations.all(), generated_by=user)
    del document["generated_at"]
    return document


def exact_moments() -> list:
    """Every stored timestamp of what a backup must keep, in a stable order."""
    return [
        *Assessment.objects.order_by("pk").values_list("created_at", flat=True),
        *Comment.objects.order_by("pk").values_list("created_at", flat=True),
        *Snapshot.objects.order_by("pk").values_list("published_at", flat=True),
        *Recommendation.history.order_by("history_id").values_list("history_date", flat=True),
    ]


def test_backup_then_restore_into_an_empty_database_gives_identical_exports(tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    ngo = make_user("ngo", make_organization("NGO"), first_name="Ånund")
    government = make_user("gov", make_organization("Ministry", kind="GOVERNMENT"))
    for number in (1, 2, 3):
        r = Recommendation.objects.get(number=number)
        first = make_assessment(r, ngo, status=Status.NO_PROGRESS, rationale="“Første” vurdering")
        make_assessment(r, ngo, status=Status.IN_PROGRESS, based_on=first)
        with transaction.atomic():  # citations are written with their assessment, never later
            make_assessment(r, government, status=Status.IMPLEMENTED).cited_evidence.set(
                r.evidence_items.all()[:2]
            )
        Comment.objects.create(
            recommendation=r, organization=ngo.membership.organization, author=ngo, body="Kommentar"
        )
    edited = Recommendation.objects.get(number=4)
    edited.short_title = "Edited by a coordinator"
    edited.save()
    snapshot = publish_snapshot(
        Report.objects.get(), published_by=allow_publishing(ngo), title="Før"
    )
    before = live_document()
    counts = (Assessment.objects.count(), Comment.objects.count(), EvidenceItem.objects.count())
    history = Recommendation.history.count()
    moments = exact_moments()
    assert any(moment.microsecond % 1000 for moment in moments)  # finer than milliseconds

    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    assert not Report.objects.exists() and not get_user_model().objects.exists()

    with as_the_owner():  # as in production (SECURITY.md, "Database roles")
        call_command("restore_data", str(backup), verbosity=0)
    assert live_document() == before
    assert (
        Assessment.objects.count(),
        Comment.objects.count(),
        EvidenceItem.objects.count(),
    ) == counts
    assert Recommendation.history.count() == history
    assert exact_moments() == moments  # to the microsecond: times order the history
    restored = Snapshot.objects.get()
    assert (restored.content, restored.content_sha256) == (
        snapshot.content,
        snapshot.content_sha256,
    )
    assert restored.is_intact
    assert get_user_model().objects.get(username="ngo").check_password("a-long-test-password")


def test_restore_refuses_a_database_that_holds_data_and_writes_nothing(tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    with pytest.raises(CommandError, match="already holds tracker data"):
        call_command("restore_data", str(backup))
    assert Report.objects.count() == 1


def test_restore_refuses_a_broken_backup_and_writes_nothing(tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    data = json.loads(backup.read_text())
    item = next(row for row in data if row["model"] == "recommendations.evidenceitem")
    item["fields"]["quote"] = item["fields"]["quote"].replace("a", "æ", 1)
    backup.write_text(json.dumps(data))
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError, match="could not restore"):
        call_command("restore_data", str(backup))
    assert not Report.objects.exists()
    assert not EvidenceItem.objects.exists()
    with pytest.raises(CommandError, match="is not a file"):
        call_command("restore_data", str(tmp_path / "missing.json"))
