"""Commenting on a recommendation."""

from hypothesis import given
from hypothesis import strategies as st

from recommendations.models import Comment

from .conftest import EXAMPLES, HOSTILE_TEXT, HTMX, rec_url


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
