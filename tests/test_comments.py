"""Commenting on a recommendation; comments are append-only and always for the author's own
organization."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from recommendations.models import AppendOnlyError, Comment, Membership, Recommendation
from recommendations.rules.writing import add_comment

from .conftest import (
    EXAMPLES,
    FIXTURES,
    HOSTILE_TEXT,
    HTMX,
    as_the_owner,
    make_organization,
    make_user,
    rec_url,
)


def test_comments_post_through_htmx_and_plain_and_a_blank_one_is_refused(client, people, norway):
    client.force_login(people["ngo"])
    item = norway.recommendations.get(number=1).evidence_items.first()
    response = client.post(rec_url("comment"), {"body": "First!", "evidence": item.pk}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "First!" in html
    response = client.post(rec_url("comment"), {"body": "Second"})
    assert response.status_code == 302
    comments = list(Comment.objects.order_by("pk"))
    assert [c.body for c in comments] == ["First!", "Second"]
    assert comments[0].evidence == item
    assert comments[0].organization == people["ngo"].membership.organization
    response = client.post(rec_url("comment"), {"body": "  "}, **HTMX)
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert Comment.objects.count() == 2


@EXAMPLES
@given(body=HOSTILE_TEXT, evidence=st.one_of(st.none(), st.integers(-5, 10**9), HOSTILE_TEXT))
def test_comments_answer_every_submission_cleanly(client, people, body, evidence):
    """Whatever arrives, the answer is a stored comment (302) or a refusal (422) that stored
    nothing."""
    client.force_login(people["ngo"])
    before = Comment.objects.count()
    data = {"body": body} if evidence is None else {"body": body, "evidence": evidence}
    response = client.post("/reports/norway-2024/recommendations/2/comments/", data)
    assert response.status_code in (302, 422)
    assert Comment.objects.count() - before == (1 if response.status_code == 302 else 0)


# --- append-only, and always for the author's own organization --------------------------------


def test_comments_are_append_only(norway, people):
    comment = add_comment(norway.recommendations.get(number=1), author=people["ngo"], body="Mine.")
    comment.body = "Rewritten."
    with pytest.raises(AppendOnlyError):
        comment.save()
    with pytest.raises(AppendOnlyError):
        comment.delete()
    with pytest.raises(AppendOnlyError):
        Comment.objects.filter(pk=comment.pk).update(body="Rewritten.")
    with pytest.raises(AppendOnlyError):
        Comment.objects.filter(pk=comment.pk).update(author=people["other"])
    with pytest.raises(AppendOnlyError):
        Comment.objects.all().delete()
    assert Comment.objects.get().body == "Mine."


def test_a_comment_is_written_for_its_authors_own_organization_only(norway, people):
    recommendation = norway.recommendations.get(number=1)
    government = people["gov"].membership.organization
    for author in (people["ngo"], people["staff"]):  # another organization's member; no member
        with pytest.raises(ValidationError, match="author's own organization"):
            Comment.objects.create(
                recommendation=recommendation, organization=government, author=author, body="x"
            )
    assert not Comment.objects.exists()


def test_a_recommendation_with_comments_cannot_be_deleted(norway, people):
    recommendation = norway.recommendations.get(number=2)
    add_comment(recommendation, author=people["ngo"], body="Still open.")
    with pytest.raises(ProtectedError), transaction.atomic():
        recommendation.delete()
    assert Comment.objects.filter(recommendation=recommendation).count() == 1


def test_coordinators_read_comments_in_admin_but_cannot_add_change_or_delete_them(
    superuser_client, norway, people
):
    comment = add_comment(norway.recommendations.get(number=1), author=people["ngo"], body="Mine.")
    change = reverse("admin:recommendations_comment_change", args=[comment.pk])
    page = superuser_client.get(change)
    assert page.status_code == 200
    assert "Mine." in page.content.decode() and 'name="body"' not in page.content.decode()
    gov = people["gov"]
    response = superuser_client.post(
        change,
        {
            "recommendation": comment.recommendation_id,
            "organization": gov.membership.organization_id,
            "author": gov.pk,
            "body": "Rewritten by a coordinator.",
            "created_at_0": "2024-01-01",
            "created_at_1": "12:00:00",
        },
    )
    assert response.status_code == 403
    delete = reverse("admin:recommendations_comment_delete", args=[comment.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert superuser_client.get(reverse("admin:recommendations_comment_add")).status_code == 403
    changelist = reverse("admin:recommendations_comment_changelist")
    action = {"action": "delete_selected", "_selected_action": [comment.pk], "post": "yes"}
    superuser_client.post(changelist, action)
    comment = Comment.objects.get()
    assert (comment.body, comment.author, comment.organization) == (
        "Mine.",
        people["ngo"],
        people["ngo"].membership.organization,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
def test_the_database_refuses_to_change_delete_or_truncate_comments(norway, people):
    """Even to the tables' owner (the app role is not even granted it: test_database_roles)."""
    comment = add_comment(norway.recommendations.get(number=1), author=people["ngo"], body="Mine.")
    statements = [
        ("UPDATE recommendations_comment SET body = 'Rewritten.' WHERE id = %s", [comment.pk]),
        (
            "UPDATE recommendations_comment SET author_id = %s, organization_id = %s WHERE id = %s",
            [people["gov"].pk, people["gov"].membership.organization_id, comment.pk],
        ),
        ("DELETE FROM recommendations_comment WHERE id = %s", [comment.pk]),
        ("TRUNCATE recommendations_comment", None),
    ]
    for sql, params in statements:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for none pending
            cursor.execute("SET LOCAL ROLE NONE")  # the session's login user: the owner
            cursor.execute(sql, params)
    assert Comment.objects.get().body == "Mine."


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_a_comment_whose_author_is_not_in_its_organization(norway, people):
    """Also for writes that bypass the model: bulk inserts and SQL."""
    recommendation = norway.recommendations.get(number=1)
    government = people["gov"].membership.organization
    for author in (people["ngo"], people["staff"]):
        with (
            pytest.raises(DatabaseError, match="is not a member of organization"),
            transaction.atomic(),
        ):
            Comment.objects.bulk_create(
                [
                    Comment(
                        recommendation=recommendation,
                        organization=government,
                        author=author,
                        body="Forged.",
                    )
                ]
            )
    assert not Comment.objects.exists()
    Comment.objects.bulk_create(
        [
            Comment(
                recommendation=recommendation,
                organization=government,
                author=people["gov"],
                body="Ok",
            )
        ]
    )
    assert Comment.objects.get().organization == government


@pytest.mark.django_db(transaction=True)
def test_a_restored_history_keeps_comments_whose_author_has_since_moved(tmp_path):
    """The comment was consistent when written; its author's membership changed later (which
    the audit trail records). A backup of that history restores as it was."""
    call_command("loaddata", *FIXTURES, verbosity=0)
    first, second = make_organization("First NGO"), make_organization("Second NGO")
    mover = make_user("mover", first)
    add_comment(Recommendation.objects.get(number=1), author=mover, body="Written at First NGO.")
    membership = Membership.objects.get(user=mover)
    membership.organization = second
    membership.save()
    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    with as_the_owner():
        call_command("restore_data", str(backup), verbosity=0)
    comment = Comment.objects.select_related("author__membership").get()
    assert comment.organization.name == "First NGO"
    assert comment.author.membership.organization.name == "Second NGO"
