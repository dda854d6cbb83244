"""Following a recommendation: the toggle on its page, with and without HTMX, and the rule of
who follows what (their explicit choice, else their organization's recommendations)."""

import pytest

from recommendations.models import (
    Following,
    Organization,
    Recommendation,
    Responsibility,
)
from recommendations.rules.following import followed_recommendations, is_following
from recommendations.views.following import follow_state

from .conftest import HTMX, make_assessment, make_organization, make_user, rec_url


def rec(number: int) -> Recommendation:
    return Recommendation.objects.get(report__slug="norway-2024", number=number)


def test_following_and_unfollowing_without_javascript_redirects_back(client, people):
    ngo = people["ngo"]
    client.force_login(ngo)
    page = client.get(rec_url("recommendation", 3)).content.decode()
    assert 'aria-pressed="false"' in page and 'name="follow" value="1"' in page

    response = client.post(rec_url("follow", 3), {"follow": "1"})
    assert response.status_code == 302 and response["Location"] == rec_url("recommendation", 3)
    assert is_following(ngo, rec(3))
    page = client.get(response["Location"]).content.decode()
    assert "You follow recommendation 3." in page  # the message
    assert 'aria-pressed="true"' in page and "You chose to follow it." in page

    client.post(rec_url("follow", 3), {"follow": "0"})
    assert not is_following(ngo, rec(3))
    assert Following.objects.get(user=ngo).following is False


def test_following_with_htmx_swaps_the_partial(client, people):
    client.force_login(people["ngo"])
    response = client.post(rec_url("follow", 2), {"follow": "1"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.strip().startswith('<div id="follow"')
    assert 'aria-pressed="true"' in html and 'name="follow" value="0"' in html
    assert response["Vary"].count("HX-Request") == 1
    response = client.post(rec_url("follow", 2), {"follow": "0"}, **HTMX)
    assert 'aria-pressed="false"' in response.content.decode()


def test_observers_follow_and_users_without_a_membership_may_not(client, people):
    client.force_login(people["observer"])
    assert client.post(rec_url("follow", 1), {"follow": "1"}).status_code == 302
    assert is_following(people["observer"], rec(1))

    for user in (people["staff"], people["coordinator"]):
        client.force_login(user)
        response = client.post(rec_url("follow", 1), {"follow": "1"})
        assert response.status_code == 403
        assert "Only members of an organization follow" in response.content.decode()
        assert "follow-button" not in client.get(rec_url("recommendation", 1)).content.decode()
    assert not Following.objects.filter(user__in=[people["staff"], people["coordinator"]])

    client.logout()
    response = client.post(rec_url("follow", 1), {"follow": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("value", ["", "2", "yes", "1; DROP", "١"])
def test_a_damaged_follow_form_is_a_400(client, people, value):
    client.force_login(people["ngo"])
    response = client.post(rec_url("follow", 1), {"follow": value})
    assert response.status_code == 400
    assert "The follow form was damaged" in response.content.decode()
    assert not Following.objects.exists()


def test_a_missing_recommendation_is_a_404(client, people):
    client.force_login(people["ngo"])
    response = client.post("/reports/norway-2024/recommendations/99/follow/", {"follow": "1"})
    assert response.status_code == 404


def test_the_page_says_why_a_recommendation_is_followed_automatically(client, people):
    gov = people["gov"]
    ministry = gov.membership.organization
    Responsibility.objects.create(recommendation=rec(4), lead=ministry)
    client.force_login(gov)
    page = client.get(rec_url("recommendation", 4)).content.decode()
    assert 'aria-pressed="true"' in page
    assert f"Followed for you: {ministry.display_name} leads it." in page

    client.post(rec_url("follow", 4), {"follow": "0"})
    page = client.get(rec_url("recommendation", 4)).content.decode()
    assert 'aria-pressed="false"' in page
    assert f"You stopped following it, though {ministry.display_name} leads it." in page


@pytest.mark.parametrize("choice", [None, True, False])
@pytest.mark.parametrize("tie", [None, "leads", "supports", "has assessed"])
def test_the_button_agrees_with_followed_recommendations(people, choice, tie):
    """follow_state() (one query, for the page) and followed_recommendations() (the digest)
    are two spellings of one rule."""
    user = people["gov"]
    ministry = user.membership.organization
    recommendation = rec(6)
    if tie == "leads":
        Responsibility.objects.create(recommendation=recommendation, lead=ministry)
    elif tie == "supports":
        other = make_organization("Another ministry", kind=Organization.Kind.GOVERNMENT)
        responsibility = Responsibility.objects.create(recommendation=recommendation, lead=other)
        responsibility.supporting.add(ministry)
    elif tie == "has assessed":
        make_assessment(recommendation, make_user("colleague", ministry))
    if choice is not None:
        Following.objects.create(user=user, recommendation=recommendation, following=choice)
    state = follow_state(user, recommendation)
    assert state is not None
    expected = choice if choice is not None else tie is not None
    assert state.following is expected
    assert (recommendation in followed_recommendations(user)) is expected
    if tie and choice is None:
        assert state.why == f"Followed for you: {ministry.display_name} {tie} it."


def test_followed_recommendations_lists_each_once(people):
    """An organization that leads, supports elsewhere and assessed several times still yields
    each recommendation once."""
    gov = people["gov"]
    ministry = gov.membership.organization
    Responsibility.objects.create(recommendation=rec(1), lead=ministry)
    for _ in range(3):
        make_assessment(rec(1), gov)
    make_assessment(rec(2), gov)
    Following.objects.create(user=gov, recommendation=rec(3), following=True)
    Following.objects.create(user=gov, recommendation=rec(2), following=False)
    numbers = sorted(r.number for r in followed_recommendations(gov))
    assert numbers == [1, 3]
