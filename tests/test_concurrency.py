"""Many reviewers writing to one recommendation at the same moment, on PostgreSQL."""

import threading
from collections import Counter
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client

from recommendations.models import Assessment, Comment, Organization, Recommendation, Status

from .conftest import FIXTURES, make_organization, make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

ORGANIZATIONS = 4
REVIEWERS_PER_ORGANIZATION = 3
ATTEMPTS = 6


def test_concurrent_reviewers_lose_no_write_and_get_no_error():
    call_command("loaddata", *FIXTURES, verbosity=0)
    recommendation = Recommendation.objects.get(number=1)
    url = f"/reports/norway-2024/recommendations/{recommendation.number}/"
    reviewers = []
    for o in range(ORGANIZATIONS):
        kind = Organization.Kind.GOVERNMENT if o == 0 else Organization.Kind.NGO
        organization = make_organization(f"Organization {o}", kind=kind)
        reviewers += [
            make_user(f"r{o}-{i}", organization) for i in range(REVIEWERS_PER_ORGANIZATION)
        ]

    start = threading.Barrier(len(reviewers))
    outcomes: Counter = Counter()
    accepted: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def work(user) -> None:
        client = Client()
        client.force_login(user)
        try:
            start.wait()
            for attempt in range(ATTEMPTS):
                # What the reviewer's form would carry: the position they last saw.
                seen = (
                    Assessment.objects.filter(
                        recommendation=recommendation, organization=user.membership.organization
                    )
                    .order_by("-created_at", "-pk")
                    .values_list("pk", flat=True)
                    .first()
                )
                marker = f"{user.username} attempt {attempt}"
                response = client.post(
                    url + "assess/",
                    {
                        "status": Status.values[attempt % 4],  # not IMPLEMENTED: no evidence
                        "rationale": marker,
                        "based_on": seen or "",
                    },
                )
                comment = client.post(url + "comments/", {"body": marker})
                with lock:
                    outcomes[response.status_code] += 1
                    outcomes[f"comment {comment.status_code}"] += 1
                    if response.status_code == 302:
                        accepted.append(marker)
                    elif response.status_code != 422:
                        failures.append(f"{marker}: assess {response.status_code}")
                    if comment.status_code != 302:
                        failures.append(f"{marker}: comment {comment.status_code}")
        except Exception as error:  # recorded, and failed on below
            with lock:
                failures.append(f"{user.username}: {error!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    total = len(reviewers) * ATTEMPTS
    assert outcomes[302] + outcomes[422] == total
    assert outcomes[422] > 0  # colleagues did collide, and were told
    # Every accepted write is in the history, and nothing else is.
    stored = sorted(
        Assessment.objects.filter(recommendation=recommendation).values_list("rationale", flat=True)
    )
    assert stored == sorted(accepted)
    assert Comment.objects.filter(recommendation=recommendation).count() == total
    # No lost update: within each organization the assessments form one chain, each based on
    # the one before it.
    for organization in Organization.objects.all():
        chain = list(
            Assessment.objects.filter(recommendation=recommendation, organization=organization)
            .order_by("created_at", "pk")
            .values_list("pk", "based_on")
        )
        assert chain, organization
        assert chain[0][1] is None
        for (previous, _), (_, based_on) in pairwise(chain):
            assert based_on == previous
