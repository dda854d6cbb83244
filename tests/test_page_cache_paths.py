"""Cached pages stay fresh along every path a write can take (recommendations/caching.py,
recommendations/versions.py): the admin's change forms, a restore into an emptied database,
any mix of writes and reads, HTTP revalidation, and every table a page shows.

The pages are compared with what an uncached render (PAGE_CACHE off) shows, and each cached
page is checked to be only its viewer's: their organization, their CSRF token, their name.
"""

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Model
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from recommendations import versions
from recommendations.database_roles import append_only_tables
from recommendations.models import (
    Assessment,
    DataVersion,
    Lineage,
    Membership,
    Organization,
    Recommendation,
    Report,
    Responsibility,
    Status,
)
from recommendations.publishing.snapshots import publish_snapshot
from recommendations.rules.writing import add_comment

from . import test_page_cache
from .conftest import (
    FIXTURES,
    as_the_owner,
    assess_all,
    examples,
    make_assessment,
    make_organization,
    make_user,
)
from .html_forms import admin_form_data, form_fields

assessed = test_page_cache.assessed  # its fixture: positions and a lead on recommendation 1

SLUG = "norway-2024"
DASHBOARD = f"/reports/{SLUG}/"
EXPORTS = [f"/reports/{SLUG}/export.{extension}" for extension in ("csv", "xlsx", "pdf", "json")]


def recommendation_url(number: int = 1) -> str:
    return f"/reports/{SLUG}/recommendations/{number}/"


def recommendation(number: int = 1) -> Recommendation:
    return Recommendation.objects.get(report__slug=SLUG, number=number)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def cache_it(client: Client, url: str) -> str:
    """The page asked twice: the second answer comes from the cache."""
    text_of(client, url)
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Cache"] == "hit"
    return response.content.decode()


def admin_save(client: Client, url: str, **changes: str) -> None:
    data = admin_form_data(client, url)
    for name, value in changes.items():
        assert name in data, f"{name} is not a field of {url}: {sorted(data)}"
        data[name] = [value]
    data["_save"] = ["Save"]
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


def the_field(data: dict[str, list[str]], suffix: str) -> str:
    (name,) = [name for name in data if name.endswith(suffix) and "__prefix__" not in name]
    return name


# --- 1. writes through the admin ---------------------------------------------------------------


@pytest.fixture
def admin_client(superuser) -> Client:
    return signed_in(superuser)


@pytest.mark.django_db
def test_an_organization_renamed_in_admin_is_shown(assessed, admin_client):
    """The dashboard shows the organization's new name (its key of who is who, its chips)."""
    observer = signed_in(assessed["observer"])
    assert "Zebra Network" not in cache_it(observer, DASHBOARD)
    organization = assessed["ngo"].membership.organization
    url = f"/admin/recommendations/organization/{organization.pk}/change/"
    admin_save(admin_client, url, name="Zebra Network", short_name="Zebra NGO")
    response = observer.get(DASHBOARD)
    assert response["X-Cache"] == "miss"
    assert "Zebra Network" in response.content.decode()


@pytest.mark.django_db
def test_a_short_title_changed_in_admin_is_shown(assessed, admin_client):
    """The dashboard shows a recommendation's new short title."""
    observer = signed_in(assessed["observer"])
    assert "Zebra title" not in cache_it(observer, DASHBOARD)
    url = f"/admin/recommendations/recommendation/{recommendation(2).pk}/change/"
    admin_save(admin_client, url, short_title="Zebra title")
    assert "Zebra title" in text_of(observer, DASHBOARD)


@pytest.mark.django_db
def test_a_review_cycle_renamed_in_admin_is_shown(assessed, admin_client):
    """The recommendation page's history names each assessment's cycle by its new name."""
    observer = signed_in(assessed["observer"])
    assert "cycle Zebra cycle" not in cache_it(observer, recommendation_url())
    cycle = Assessment.objects.filter(recommendation=recommendation()).first().cycle
    url = f"/admin/recommendations/reviewcycle/{cycle.pk}/change/"
    admin_save(admin_client, url, name="Zebra cycle")
    assert "cycle Zebra cycle" in text_of(observer, recommendation_url())


@pytest.mark.django_db
def test_a_user_renamed_in_admin_is_shown(assessed, admin_client):
    """The recommendation page names the author of an assessment by their new first name."""
    observer = signed_in(assessed["observer"])
    assert "Zebrina Ås" not in cache_it(observer, recommendation_url())
    url = f"/admin/auth/user/{assessed['ngo'].pk}/change/"
    admin_save(admin_client, url, first_name="Zebrina")
    assert "Zebrina Ås" in text_of(observer, recommendation_url())


@pytest.mark.django_db
def test_a_target_date_set_in_the_recommendation_admin_is_shown(assessed, admin_client):
    """The responsibility inline of the recommendation admin: the dashboard shows the new
    target date."""
    observer = signed_in(assessed["observer"])
    assert "17 Mar 2031" not in cache_it(observer, DASHBOARD)
    url = f"/admin/recommendations/recommendation/{recommendation().pk}/change/"
    data = admin_form_data(admin_client, url)
    admin_save(admin_client, url, **{the_field(data, "-target_date"): "2031-03-17"})
    assert Responsibility.objects.get(recommendation=recommendation()).target_date == date(
        2031, 3, 17
    )
    assert "17 Mar 2031" in text_of(observer, DASHBOARD)


# --- 2. restore_data ---------------------------------------------------------------------------


def write_backup(backup: Path, old: bool) -> None:
    """backup_data; `old`: as it wrote before it left the data versions out (dumpdata took that
    unmanaged model too, last): the tokens of the backup's moment."""
    call_command("backup_data", str(backup), verbosity=0)
    if old:
        rows = json.loads(backup.read_text())
        assert not any(row["model"] == "recommendations.dataversion" for row in rows)
        rows += [
            {"model": "recommendations.dataversion", "pk": scope, "fields": {"token": token}}
            for scope, token in DataVersion.objects.order_by("scope").values_list("scope", "token")
        ]
        backup.write_text(json.dumps(rows))


def edit_backup(backup: Path, organization_name: str) -> None:
    rows = json.loads(backup.read_text())
    for row in rows:
        fields = row["fields"]
        if row["model"] == "recommendations.recommendation" and fields["number"] == 1:
            fields["short_title"] = "Restored zebra title"
        if row["model"] == "recommendations.organization" and fields["name"] == organization_name:
            fields["name"], fields["short_name"] = "Restored Zebra Network", "Zebra NGO"
    backup.write_text(json.dumps(rows))


BACKUPS = [
    pytest.param(False, id="backup"),
    pytest.param(True, id="older backup with data versions"),
]


def restore(backup: Path, old: bool) -> bool:
    """restore_data into the emptied database; whether it restored. An older backup's data
    versions may be refused (then nothing is restored), but never loaded: their tokens would
    make the pages cached before the backup valid again."""
    with as_the_owner():
        try:
            call_command("restore_data", str(backup), verbosity=0)
        except CommandError as refused:
            assert old, refused
            assert "dataversion" in str(refused)
            assert not Report.objects.exists()
            assert not get_user_model().objects.exists()
            return False
    return True


@pytest.mark.parametrize("old", BACKUPS)
@pytest.mark.django_db(transaction=True)
def test_a_restore_into_an_emptied_database_is_shown(tmp_path, old):
    """After flush the cached pages are not served (the report is gone: 404, even to a viewer
    keyed exactly as before), and after restore_data of an edited backup the pages show the
    edits (an older backup, with the tokens of its moment, is refused or shown fresh too)."""
    call_command("loaddata", *FIXTURES, verbosity=0)
    ngo = make_user("ngo", make_organization("NGO network"), first_name="Ånund")
    government = make_user("gov", make_organization("Ministry", kind="GOVERNMENT"))
    embassy = make_organization("Embassy", kind=Organization.Kind.OTHER)
    observer = make_user("observer", embassy, role=Membership.Role.OBSERVER)
    for number in (1, 2):
        make_assessment(recommendation(number), ngo, status=Status.NO_PROGRESS)
        make_assessment(recommendation(number), government, status=Status.IN_PROGRESS)
    client = signed_in(observer)
    dashboard = cache_it(client, DASHBOARD)
    page = cache_it(client, recommendation_url())
    assert "Restored zebra title" not in dashboard + page
    assert "Restored Zebra Network" not in dashboard

    backup = tmp_path / "backup.json"
    write_backup(backup, old)
    edit_backup(backup, "NGO network")
    call_command("flush", interactive=False, verbosity=0)

    # A viewer keyed exactly as the cached pages' (the same organization id and role).
    again = Organization.objects.create(
        pk=embassy.pk, name="Embassy", short_name="Embassy", kind=Organization.Kind.OTHER
    )
    client = signed_in(make_user("observer", again, role=Membership.Role.OBSERVER))
    for url in (DASHBOARD, recommendation_url()):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.get("X-Cache") != "hit"
    call_command("flush", interactive=False, verbosity=0)

    if not restore(backup, old):
        return
    client = signed_in(get_user_model().objects.get(username="observer"))
    dashboard = text_of(client, DASHBOARD)
    assert "Restored zebra title" in dashboard
    assert "Restored Zebra Network" in dashboard
    assert "Restored zebra title" in text_of(client, recommendation_url())


@pytest.mark.parametrize("old", BACKUPS)
@pytest.mark.django_db(transaction=True)
def test_a_restored_user_never_gets_another_users_cached_export(tmp_path, old):
    """Restored users keep their ids, so a user never takes another's former id; their
    export must still name them, not a user whose file was cached before the backup."""
    call_command("loaddata", *FIXTURES, verbosity=0)
    ngo = make_organization("NGO network")
    make_user("astrid", ngo, first_name="Astrid", pk=2)
    make_user("bjorn", ngo, first_name="Bjørn", pk=3)
    export = EXPORTS[3]
    for user in get_user_model().objects.all():
        cache_it(signed_in(user), export)
    backup = tmp_path / "backup.json"
    write_backup(backup, old)
    call_command("flush", interactive=False, verbosity=0)
    if not restore(backup, old):
        return
    restored = get_user_model().objects.get(username="bjorn")
    assert restored.pk == 3  # ids are kept
    document = json.loads(text_of(signed_in(restored), export))
    assert "Bjørn" in document["generated_by"]


# --- 3. any mix of writes and reads: a cached read is what a fresh render shows -----------------

REVIEWERS = ["gov", "ngo", "ngo_colleague", "other"]
READERS = ["gov", "ngo", "observer", "coordinator"]
STATUSES = [status for status in Status.values if status != Status.IMPLEMENTED]
DASHBOARD_PARAMS = ["", "?sort=-divergence", "?pillar=PROSECUTION", "?status=NO_PROGRESS"]
WORDS = st.text(st.sampled_from("abcæøå <&>\"' Z"), min_size=1, max_size=20).filter(str.strip)

writes = st.one_of(
    st.tuples(
        st.just("assess"),
        st.sampled_from(REVIEWERS),
        st.integers(1, 10),
        st.sampled_from(STATUSES),
    ),
    st.tuples(st.just("comment"), st.sampled_from(REVIEWERS), st.integers(1, 10), WORDS),
    st.tuples(st.just("organization"), st.sampled_from(REVIEWERS), WORDS),
    st.tuples(st.just("short_title"), st.integers(1, 10), WORDS),
    st.tuples(st.just("target_date"), st.integers(1, 10), st.dates(date(2025, 1, 1))),
)
reads = st.tuples(
    st.just("read"),
    st.sampled_from(READERS),
    st.sampled_from(["en-gb", "nb"]),
    st.one_of(
        st.sampled_from(DASHBOARD_PARAMS).map(lambda params: DASHBOARD + params),
        st.integers(1, 10).map(recommendation_url),
        st.just(f"/reports/{SLUG}/export.json"),
    ),
)

CSRF_VALUES = [
    re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")'),
    re.compile(r'("X-CSRFToken": ")[^"]*(")'),
]


def normalised(url: str, body: bytes) -> object:
    """What must be equal between two renders: all but the CSRF tokens' masks and the time
    a file was generated."""
    if url.endswith(".json"):
        document = json.loads(body)
        document.pop("generated_at")
        return document
    text = body.decode()
    for pattern in CSRF_VALUES:
        text = pattern.sub(r"\1…\2", text)
    return text


def write(people: dict, step: tuple) -> None:
    match step:
        case ("assess", who, number, status):
            make_assessment(recommendation(number), people[who], status=status)
        case ("comment", who, number, body):
            add_comment(recommendation(number), author=people[who], body=body, evidence=None)
        case ("organization", who, name):
            Organization.objects.filter(pk=people[who].membership.organization_id).update(
                name=f"{name} ({who})", short_name=name
            )
        case ("short_title", number, title):
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE recommendations_recommendation SET short_title = %s WHERE id = %s",
                    [title, recommendation(number).pk],
                )
        case ("target_date", number, day):
            Responsibility.objects.update_or_create(
                recommendation=recommendation(number),
                defaults={"lead": people["gov"].membership.organization, "target_date": day},
            )


# Each example is up to 8 steps, each read rendered twice cached and twice fresh: 6 sequences
# in the default run, 100 in `make test-deep`.
PROPERTY = examples(6, 100)


@pytest.mark.django_db
def test_a_cached_read_is_what_a_fresh_render_shows(people):
    """Whatever writes come between them, every read (a hit or a miss) answers as the same
    request rendered without the cache (PAGE_CACHE off); and some reads are hits."""
    seen: list[str] = []

    def check(who: str, language: str, url: str, step: object) -> None:
        client = clients[who]
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        cached = client.get(url)
        with override_settings(PAGE_CACHE=False):
            fresh = client.get(url)
        assert cached.status_code == fresh.status_code == 200, url
        assert normalised(url, cached.content) == normalised(url, fresh.content), step
        seen.append(cached["X-Cache"])

    clients: dict[str, Client] = {}

    @PROPERTY
    @given(steps=st.lists(st.one_of(writes, reads), min_size=1, max_size=8))
    def reads_match_fresh_renders(steps: list[tuple]) -> None:
        clients.update({who: signed_in(people[who]) for who in READERS})
        done = []
        for step in steps:
            if step[0] == "read":
                check(*step[1:], step)
                check(*step[1:], step)
                done.append(step)
            else:
                write(people, step)
        for step in done:  # each page once more, after all the writes
            check(*step[1:], ("again", step))

    reads_match_fresh_renders()
    assert "hit" in seen


# --- 4. revalidation and privacy ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_held_etag_gets_304_until_a_write(assessed):
    """The same ETag answers 304 with no body; after a write it answers 200 with the change."""
    observer = signed_in(assessed["observer"])
    for url in (DASHBOARD, recommendation_url(), EXPORTS[3]):
        first = observer.get(url)
        tag = first["ETag"]
        again = observer.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304, url
        assert again.content == b""
    tags = {url: observer.get(url)["ETag"] for url in (DASHBOARD, recommendation_url())}
    Recommendation.objects.filter(pk=recommendation().pk).update(short_title="Zebra title")
    for url, tag in tags.items():
        response = observer.get(url, headers={"If-None-Match": tag})
        assert response.status_code == 200, url
        assert response["ETag"] != tag
        assert "Zebra title" in response.content.decode()


def who_is_signed_in(html: str) -> str:
    """The name in the page's header."""
    match = re.search(r'<span class="who">\s*<strong>(.*?)</strong>', html)
    assert match, "no header"
    return match.group(1)


def assess_form(html: str) -> dict[str, list[str]]:
    return form_fields(html, lambda attrs: attrs.get("id") == "assess-form")


@pytest.mark.django_db
def test_each_organization_sees_its_own_cached_page_with_its_own_token(people):
    """Two organizations' reviewers each get their own page from the cache; a colleague keyed
    like the first gets the first's cached page, but with a token of their own session that
    the assess form accepts."""
    clients = {who: Client(enforce_csrf_checks=True) for who in ("ngo", "gov", "ngo_colleague")}
    for who, client in clients.items():
        client.force_login(people[who])
    url = recommendation_url()
    pages = {who: cache_it(clients[who], url) for who in ("ngo", "gov")}
    assert "Assess for Nettverk mot menneskehandel" in pages["ngo"]
    assert "Assess for Justisdepartementet" not in pages["ngo"]
    assert "Assess for Justisdepartementet" in pages["gov"]
    assert "Assess for Nettverk mot menneskehandel" not in pages["gov"]
    colleague = clients["ngo_colleague"].get(url)
    assert colleague["X-Cache"] == "hit"
    pages["ngo_colleague"] = colleague.content.decode()
    assert "Assess for Nettverk mot menneskehandel" in pages["ngo_colleague"]

    # The colleague assesses for the NGO (a second assessment of it now would be stale); the
    # first NGO reviewer comments, with the token of their own cached page.
    for who in ("gov", "ngo_colleague"):
        fields = assess_form(pages[who])
        fields |= {"status": [Status.IN_PROGRESS], "rationale": [f"By {who}."]}
        response = clients[who].post(f"{url}assess/", fields)
        assert response.status_code == 302, (who, response.content.decode()[:2000])
    fields = form_fields(pages["ngo"], lambda attrs: attrs.get("class") == "comment-form")
    fields["body"] = ["By ngo."]
    assert clients["ngo"].post(reverse("comment", args=[SLUG, 1]), fields).status_code == 302
    authors = set(Assessment.objects.values_list("author__username", flat=True))
    assert authors == {"gov", "ngo2"}
    assert recommendation().comments.get().author == people["ngo"]


@pytest.mark.django_db
def test_a_token_from_another_session_is_refused(people):
    """The token in a cached page is its session's own: the colleague's, from the same cached
    page, does not pass for the first reviewer (so the test above proves something)."""
    ngo, colleague = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    ngo.force_login(people["ngo"])
    colleague.force_login(people["ngo_colleague"])
    url = recommendation_url()
    cache_it(ngo, url)
    borrowed = colleague.get(url)
    assert borrowed["X-Cache"] == "hit"
    fields = assess_form(borrowed.content.decode())
    fields |= {"status": [Status.IN_PROGRESS], "rationale": ["Borrowed token."]}
    assert ngo.post(f"{url}assess/", fields).status_code == 403
    assert not Assessment.objects.exists()


@pytest.mark.django_db
def test_every_cached_response_is_private_and_varies_by_cookie(assessed):
    """Misses, hits and 304s of every cached page and export say private and Vary: Cookie."""
    observer = signed_in(assessed["observer"])
    for url in (DASHBOARD, f"{DASHBOARD}?pillar=PROSECUTION", recommendation_url(), *EXPORTS):
        first = observer.get(url)
        second = observer.get(url)
        not_modified = observer.get(url, headers={"If-None-Match": second["ETag"]})
        assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit"), url
        assert not_modified.status_code == 304, url
        for response in (first, second, not_modified):
            assert "private" in response["Cache-Control"], url
            assert "no-cache" in response["Cache-Control"] or response.status_code == 304, url
            assert "Cookie" in response["Vary"], url


@pytest.mark.django_db
def test_a_users_header_is_never_in_another_users_page(people):
    """Each reader's header names them, however the pages are shared in the cache; and a
    reader's full name is on no other reader's page (none of them has written anything)."""
    readers = ["gov", "ngo", "ngo_colleague", "other", "observer", "staff", "coordinator"]
    clients = {who: signed_in(people[who]) for who in readers}
    full_names = {who: people[who].get_full_name() for who in readers}
    assert full_names["gov"] and full_names["ngo"]
    for url in (DASHBOARD, recommendation_url(), recommendation_url(2)):
        for who in readers:
            clients[who].get(url)
        for who in readers:
            response = clients[who].get(url)
            assert response["X-Cache"] == "hit"
            html = response.content.decode()
            assert who_is_signed_in(html) == (full_names[who] or people[who].get_username())
            for other, name in full_names.items():
                if other != who and name:
                    assert name not in html, (url, who, other)


# --- 5. every table a page shows is tracked ----------------------------------------------------

NOT_SHOWN = {
    "django_admin_log": "the admin's log of its own actions; no page shows it",
    "django_session": "sessions: who is signed in is the request's, not the page's",
    "django_content_type": "Django's catalogue of models",
    "auth_permission": "permissions: may_publish is checked for each request, never cached",
    "auth_group": "groups: as permissions",
    "auth_group_permissions": "groups: as permissions",
    "auth_user_groups": "groups: as permissions",
    "auth_user_user_permissions": "as permissions",
    "axes_accessattempt": "log-in attempts (django-axes)",
    "axes_accessattemptexpiration": "log-in attempts (django-axes)",
    "axes_accessfailurelog": "log-in attempts (django-axes)",
    "axes_accesslog": "log-ins (django-axes)",
    "recommendations_historicalreport": "audit history (django-simple-history), shown in admin",
    "recommendations_historicalrecommendation": "audit history, shown in admin",
    "recommendations_historicalevidenceitem": "audit history, shown in admin",
    "recommendations_historicalevidencelink": "audit history, shown in admin",
    "recommendations_historicalorganization": "audit history, shown in admin",
    "recommendations_historicalmembership": "audit history, shown in admin",
    "recommendations_historicalreviewcycle": "audit history, shown in admin",
    "recommendations_historicallineage": "audit history, shown in admin",
    "recommendations_declinedcarry": "read by the evidence workspace, which is never cached",
    "recommendations_historicaldeclinedcarry": "audit history, shown in admin",
    "recommendations_historicalresponsibility": "audit history, shown in admin",
    "recommendations_historicalresponsibility_supporting": "audit history, shown in admin",
    "recommendations_following": "the follow button is rendered for each request",
    "recommendations_preferences": "the language is part of the cache key",
    "recommendations_sentmail": "the record of sent mail; no page shows it",
    versions.TABLE: "the data versions themselves",
    "recommendations_publiccopy": "shown by the snapshot page and the public pages, never cached",
    "recommendations_historicalpubliccopy": "audit history, shown in admin",
    "recommendations_prepareddownload": "served only while its version (made of the tokens) holds",
    "django_tasks_database_dbtaskresult": "the queue of background tasks; no page shows it",
    "recommendations_invitation": "invitations: admin and the invitee's own page, never cached",
    "otp_totp_totpdevice": "second factors (django-otp): the two-factor pages, never cached",
    "otp_static_staticdevice": "recovery codes: as second factors",
    "otp_static_statictoken": "recovery codes: as second factors",
    "recommendations_historicalinvitation": "audit history, shown in admin",
    "recommendations_submissiondeadline": "deadlines: admin and the reminder mails only",
    "recommendations_historicalsubmissiondeadline": "audit history, shown in admin",
}


def test_every_table_is_tracked_or_known_not_to_be_shown():
    """A model added later fails here until it is tracked or said not to be shown."""
    tracked = {entry.table for entry in versions.TRACKED}
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    assert not tracked & set(NOT_SHOWN)
    assert tables - tracked - set(NOT_SHOWN) == set()
    assert set(NOT_SHOWN) - tables == set(), "no longer a table: remove it from NOT_SHOWN"
    assert tracked - tables == set()


@pytest.fixture
def everything(people) -> dict:
    """A row in every tracked table: assessments citing evidence, a comment, a snapshot, a
    lineage, a responsibility with a supporting organization."""
    assess_all(people)
    add_comment(recommendation(), author=people["ngo"], body="A comment.", evidence=None)
    publish_snapshot(recommendation().report, published_by=people["coordinator"], title="S")
    Lineage.objects.create(recommendation=recommendation(), change=Lineage.Change.NEW)
    responsibility = Responsibility.objects.create(
        recommendation=recommendation(), lead=people["gov"].membership.organization
    )
    responsibility.supporting.add(make_organization("Helsedirektoratet", kind="GOVERNMENT"))
    return people


def model_of(table: str) -> type[Model]:
    (model,) = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.db_table == table
    ]
    return model


def add_a_row(table: str, people: dict) -> Callable[[], None]:
    """A new row of an append-only table (PostgreSQL refuses their UPDATE), through the ORM;
    it returns the step whose write the fingerprint must follow."""
    first = recommendation(3)
    match table:
        case "recommendations_assessment":
            return lambda: make_assessment(first, people["ngo"])
        case "recommendations_comment":
            return lambda: add_comment(first, author=people["ngo"], body="More.", evidence=None)
        case "recommendations_snapshot":
            return lambda: publish_snapshot(
                first.report, published_by=people["coordinator"], title="Again"
            )
        case "recommendations_assessment_cited_evidence":
            assessment = make_assessment(first, people["gov"])
            return lambda: assessment.cited_evidence.set(first.evidence_items.all()[:1])
    raise AssertionError(table)


@pytest.mark.parametrize("table", [entry.table for entry in versions.TRACKED])
@pytest.mark.django_db
def test_a_write_to_any_tracked_table_changes_the_fingerprint(everything, table):
    """An UPDATE of one row (on PostgreSQL, a new row of an append-only table) changes the
    version the report's pages are keyed by."""
    tracked = next(entry for entry in versions.TRACKED if entry.table == table)
    model = model_of(table)
    assert model.objects.exists(), f"no row of {table} to change"
    if connection.vendor == "postgresql" and table in append_only_tables():
        with transaction.atomic():
            step = add_a_row(table, everything)
            before = versions.fingerprint_and_membership(SLUG, None).fingerprint
            step()
            after = versions.fingerprint_and_membership(SLUG, None).fingerprint
    else:
        pk = model._meta.pk.column
        column = tracked.columns[0] if tracked.columns else pk
        before = versions.fingerprint_and_membership(SLUG, None).fingerprint
        with connection.cursor() as cursor:
            first_row = f"(SELECT min({pk}) FROM {table})"
            cursor.execute(f"UPDATE {table} SET {column} = {column} WHERE {pk} = {first_row}")
            assert cursor.rowcount == 1
        after = versions.fingerprint_and_membership(SLUG, None).fingerprint
    assert before is not None
    assert after != before


@pytest.mark.django_db
def test_the_membership_read_with_the_versions_is_whole(people, django_assert_num_queries):
    """The membership the page key reads with the data versions is what the ORM would read:
    every field of it and of its organization (a field added later is read too), converted,
    the organization already at hand."""
    user = people["ngo"]
    with django_assert_num_queries(1):
        membership = versions.fingerprint_and_membership(SLUG, user.pk).membership
        organization = membership.organization
    stored = Membership.objects.select_related("organization").get(user=user)
    for model, read, expected in [
        (Membership, membership, stored),
        (Organization, organization, stored.organization),
    ]:
        for field in model._meta.concrete_fields:
            assert getattr(read, field.attname) == getattr(expected, field.attname), field
        assert not read._state.adding
    assert versions.fingerprint_and_membership(SLUG, people["staff"].pk).membership is None


@pytest.mark.django_db
def test_a_log_in_does_not_change_the_fingerprint(people):
    """The user columns no page shows (last_login, the password) are not followed: a log-in
    keeps every cached page."""
    before = versions.fingerprint_and_membership(SLUG, None).fingerprint
    user = people["ngo"]
    user.set_password("another-long-password")
    user.save(update_fields=["password", "last_login"])
    signed_in(user)
    assert versions.fingerprint_and_membership(SLUG, None).fingerprint == before
