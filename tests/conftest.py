"""Shared by the whole suite: the canonical fixtures (`norway`), one set of people (`people`),
a superuser, and plain helpers that test modules import (`from .conftest import ...`)."""

import os
from contextlib import contextmanager
from copy import deepcopy
from datetime import timedelta
from io import StringIO
from itertools import groupby
from pathlib import Path
from uuid import uuid4

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from recommendations.database_roles import append_only_tables
from recommendations.models import (
    Assessment,
    Membership,
    Organization,
    Recommendation,
    Report,
    ReviewCycle,
    Snapshot,
    Status,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "sources" / "tip-2024-norway.txt"
FIXTURES = ["review_cycles.json", "norway-2024.json"]

HTMX = {"HTTP_HX_REQUEST": "true"}  # the header htmx sends with its requests
EXPORT = "/reports/norway-2024/export.{}"  # a live export of the Norway report, by extension
NORWEGIAN = "Øst-Finnmark: “ærlig” innsats for kvinner og barn – på Svalbard"

# Property-based tests: their settings, and text as hostile as a user can type.
# Two hypothesis profiles, chosen by HYPOTHESIS_PROFILE: "default" (`make test`, CI on both
# databases) runs each property test on a quick budget of examples; "deep" (`make test-deep`,
# nightly-style) runs several times the budgets the suite used to run by default. A test says
# both numbers with examples(quick, deep).
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
for _profile in ("default", "deep"):
    settings.register_profile(
        _profile,
        max_examples=200 if _profile == "deep" else 15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
settings.load_profile(HYPOTHESIS_PROFILE)


def examples(quick: int, deep: int, **changes) -> settings:
    """A property test's settings: `quick` examples in the default profile, `deep` in the
    deep one (`make test-deep`)."""
    return settings(max_examples=deep if HYPOTHESIS_PROFILE == "deep" else quick, **changes)


EXAMPLES = examples(15, 200)
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
HOSTILE_TEXT = st.one_of(
    ANY_TEXT,
    st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=20),  # control chars
    st.sampled_from(["", " ", "\x00", "=1+1", "-", "A" * 6000, "<script>", "’ “ ø å Æ"]),
)


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a request answered in Norwegian leaves it
    active in its thread (LocaleMiddleware activates per request, never deactivates), which
    would otherwise carry over to the next test in that worker."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def own_page_cache():
    """Each test has a cache of its own (a fresh key prefix, on local memory or Redis alike):
    what one test cached is never another's hit, and no test needs to empty a cache shared
    with the other workers."""
    caches = deepcopy(django_settings.CACHES)
    caches["default"]["KEY_PREFIX"] = uuid4().hex
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def staff_verify_their_second_factor(monkeypatch):
    """Staff signed in with the test client's force_login have also given their second
    factor, as staff must before any page (recommendations/two_factor.py). The tests of that
    rule (tests/test_two_factor.py) and the browser tests log in through the forms instead."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    force_login = Client.force_login

    def force_login_verified(self, user, backend=None):
        force_login(self, user, backend)
        if user.is_staff:
            device, _ = TOTPDevice.objects.update_or_create(
                user=user, name="app", defaults={"confirmed": True}
            )
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login_verified)


def recovery_code(user) -> str:
    """A new recovery code of a person whose authenticator app is set up (a code from the app
    works once per 30 s, too seldom for a test)."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.update_or_create(user=user, name="app", defaults={"confirmed": True})
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True}
    )
    code = StaticToken.random_token()
    device.token_set.create(token=code)
    return code


def pass_second_factor(client, user) -> None:
    """A staff member who logged in through the form gives their second factor."""
    response = client.post(reverse("two_factor_verify"), {"code": recovery_code(user)})
    assert response.status_code == 302, response.content.decode()[:500]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """A real OpenID Connect provider on loopback (tests/sign_on.py), one per test process."""
    from .sign_on import start_provider

    provider = start_provider(tmp_path_factory.mktemp("oidc-provider"))
    yield provider
    provider.stop()


@pytest.fixture
def provider(settings, oidc_provider):
    """The tracker set up, as OIDC_* in the environment would, to sign people in through the
    test provider; passwords stay on unless a test switches them off (`passwords_off`)."""
    from .sign_on import SECRET

    found = oidc_provider.discovery
    settings.OIDC_ISSUER = found["issuer"]
    settings.OIDC_RP_CLIENT_ID = "tracker"
    settings.OIDC_RP_CLIENT_SECRET = SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = found["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = found["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = found["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = found["jwks_uri"]
    settings.OIDC_END_SESSION_ENDPOINT = found["end_session_endpoint"]
    settings.OIDC_PROVIDER_NAME = "Test provider"
    settings.AUTHENTICATION_BACKENDS = [
        *django_settings.AUTHENTICATION_BACKENDS,
        "recommendations.single_sign_on.Backend",
    ]
    csp = deepcopy(django_settings.SECURE_CSP)
    csp["form-action"].append(oidc_provider.issuer.rsplit("/", 1)[0])
    settings.SECURE_CSP = csp
    return oidc_provider


@pytest.fixture
def passwords_off(settings, provider):
    """LOCAL_PASSWORDS=0: single sign-on only."""
    settings.LOCAL_PASSWORDS = False
    settings.AUTHENTICATION_BACKENDS = [
        backend
        for backend in settings.AUTHENTICATION_BACKENDS
        if backend != "django.contrib.auth.backends.ModelBackend"
    ]
    return provider


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Tests create many users; the production hasher (PBKDF2, over a million iterations)
    would take most of the suite's time. Production settings keep it."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


# --- PostgreSQL: the owner sets up, the app role runs the tests (SECURITY.md, "Database roles")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """With DATABASE_APP_ROLE on PostgreSQL (as in CI), the login user, who will own the
    tables, creates and migrates the test database (migrate grants the app role its
    privileges); then every test runs as the app role: each new connection sets it (Django's
    `assume_role` option), the live server's and other threads' too. The owner drops the
    database at the end."""
    role = django_settings.DATABASE_APP_ROLE
    if not role or connection.vendor != "postgresql":
        yield
        return
    options = connection.settings_dict["OPTIONS"]
    with django_db_blocker.unblock():
        connection.close()
    options["assume_role"] = role
    yield
    del options["assume_role"]
    with django_db_blocker.unblock():
        connection.close()


@contextmanager
def as_the_owner():
    """Run what only the tables' owner (the session's login user) does: set a database up, as
    in production (loaddata tries an UPDATE before each INSERT, which the app role may not
    run on the append-only tables), or lift a trigger to simulate tampering.
    Nothing to do unless the suite runs as the app role."""
    if not django_settings.DATABASE_APP_ROLE or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET ROLE NONE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SET ROLE {connection.ops.quote_name(django_settings.DATABASE_APP_ROLE)}"
            )


@pytest.fixture(autouse=True, scope="session")
def flush_as_the_owner():
    """Between transactional tests Django empties the database with one TRUNCATE, which the
    append-only tables refuse to everyone and which the app role may not run at all. Here, and
    only in the tests, the owner (the session's login user) runs it, with those tables'
    triggers lifted for that one transaction, as the owner could do by hand."""
    original = PostgresOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        tables = [self.quote_name(table) for table in append_only_tables()]
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            (user,) = cursor.fetchone()
            cursor.execute("SET LOCAL ROLE NONE")
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            original(self, sql_list)
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute(f"SET LOCAL ROLE {self.quote_name(user)}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


_fixture_rows: list = []  # this worker's parsed FIXTURES, once loaddata has checked them


def load_fixtures() -> None:
    """loaddata of FIXTURES, as most tests need it (about a third of a second each time, most of
    it the integrity signal checking every quote of the same file against the same text). The
    first load in each worker process is loaddata itself, with its checks; later loads insert
    the same rows, as raw as loaddata's (no field defaults, no save signals, the database's
    triggers fire), in the same order, and reset the sequences as loaddata does."""
    if not _fixture_rows:
        call_command("loaddata", *FIXTURES, verbosity=0)
        for name in FIXTURES:
            text = (ROOT / "fixtures" / name).read_text(encoding="utf-8")
            _fixture_rows.extend(d.object for d in serializers.deserialize("json", text))
        return
    models = []
    for model, rows in groupby(_fixture_rows, key=type):
        model._base_manager._insert(list(rows), fields=model._meta.local_concrete_fields, raw=True)
        models.append(model)
    if statements := connection.ops.sequence_reset_sql(no_style(), models):
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


@pytest.fixture
def norway(db) -> Report:
    """The shipped canonical fixtures: the Norway 2024 report, its evidence, review cycles."""
    load_fixtures()
    return Report.objects.get(slug="norway-2024")


@pytest.fixture
def demo(norway) -> dict[int, Report]:
    """The demo data (`load_demo_data`): Veldoria 2023–2025 with its curated evidence, by year."""
    with override_settings(DEBUG=True):
        call_command("load_demo_data", stdout=StringIO())
    return {report.year: report for report in Report.objects.filter(country="Veldoria")}


@pytest.fixture
def people(norway) -> dict:
    """One of each kind of user, shared by the whole suite.

    gov, ngo, ngo_colleague (same NGO as ngo), other (a second NGO): reviewers; observer: reads
    only; staff: is_staff and nothing else; coordinator: staff in the Coordinators group.
    """
    government = make_organization("Justisdepartementet", kind=Organization.Kind.GOVERNMENT)
    ngo = make_organization("Nettverk mot menneskehandel")
    other_ngo = make_organization("Migrantrådet")
    embassy = make_organization("Embassy", kind=Organization.Kind.OTHER)
    return {
        "gov": make_user("gov", government, first_name="Gro", last_name="Ødegård"),
        "ngo": make_user("ngo", ngo, first_name="Nina", last_name="Ås"),
        "ngo_colleague": make_user("ngo2", ngo),
        "other": make_user("other", other_ngo),
        "observer": make_user("observer", embassy, role=Membership.Role.OBSERVER),
        "staff": get_user_model().objects.create_user(
            "staff", password="a-long-test-password", is_staff=True
        ),
        "coordinator": make_coordinator("coordinator"),
    }


@pytest.fixture
def cycle(norway) -> ReviewCycle:
    return ReviewCycle.objects.order_by("starts_on").first()


@pytest.fixture
def superuser(db):
    """A superuser ("root"): every admin page and action."""
    return get_user_model().objects.create_superuser("root", "root@example.org", "a-long-pw-123")


@pytest.fixture
def superuser_client(client, superuser):
    """The test client, logged in as the superuser."""
    client.force_login(superuser)
    return client


def make_organization(
    name: str,
    kind: str = Organization.Kind.NGO,
    country: str = "Norway",
    short_name: str | None = None,
) -> Organization:
    short_name = name[:20] if short_name is None else short_name
    return Organization.objects.create(name=name, short_name=short_name, kind=kind, country=country)


def make_user(
    username: str,
    organization: Organization | None = None,
    role: str = Membership.Role.REVIEWER,
    **fields,
):
    user = get_user_model().objects.create_user(
        username=username, password="a-long-test-password", **fields
    )
    if organization is not None:
        Membership.objects.create(user=user, organization=organization, role=role)
    return user


def make_coordinator(username: str, **fields):
    """A staff user in the Coordinators group (created by a migration)."""
    user = get_user_model().objects.create_user(
        username=username, password="a-long-test-password", is_staff=True, **fields
    )
    return allow_publishing(user)


def allow_publishing(user):
    user.groups.add(Group.objects.get(name="Coordinators"))
    return user


def make_assessment(
    recommendation: Recommendation,
    author,
    status: str = Status.IN_PROGRESS,
    cycle: ReviewCycle | None = None,
    **fields,
) -> Assessment:
    return Assessment.objects.create(
        recommendation=recommendation,
        organization=author.membership.organization,
        author=author,
        cycle=cycle or ReviewCycle.objects.first(),
        status=status,
        rationale=fields.pop("rationale", "Because the report says so."),
        **fields,
    )


def assess_all(people: dict, rounds: int = 1) -> None:
    """Each round: the government and one NGO assess every recommendation, citing evidence;
    the second NGO assesses the odd ones. Later rounds are later in time."""
    start = timezone.now() - timedelta(days=30)
    statuses = Status.values
    for round_ in range(rounds):
        for r in Recommendation.objects.order_by("number"):
            moment = start + timedelta(days=round_, minutes=r.number)
            cited = list(r.evidence_items.order_by("pk")[:2])
            for offset, who in enumerate(("gov", "ngo", "other")):
                if who == "other" and r.number % 2 == 0:
                    continue
                status = statuses[(r.number + round_ + offset) % len(statuses)]
                assessment = make_assessment(
                    r,
                    people[who],
                    status=status,
                    created_at=moment + timedelta(seconds=offset),
                    rationale=f"{NORWEGIAN} (round {round_}, {who})",
                )
                assessment.cited_evidence.set(cited)


def rec_url(name: str, number: int = 1) -> str:
    """The URL of a per-recommendation view (recommendation, assess, comment) of the Norway
    report."""
    return reverse(name, args=["norway-2024", number])


def download(client, url: str) -> bytes:
    """GET a file (streamed or not), checking it was served."""
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def admin_action(client, model: str, action: str, pks: list[int]):
    """Run an admin changelist action on the selected objects."""
    return client.post(
        f"/admin/recommendations/{model}/",
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
    )


def publish(client, coordinator, title: str = "Status for the call for information") -> Snapshot:
    """Publish a snapshot of the Norway report through the snapshots page, as the coordinator."""
    client.force_login(coordinator)
    response = client.post("/reports/norway-2024/snapshots/", {"title": title})
    assert response.status_code == 302
    snapshot = Snapshot.objects.latest()
    assert response["Location"] == f"/reports/norway-2024/snapshots/{snapshot.pk}/"
    return snapshot
