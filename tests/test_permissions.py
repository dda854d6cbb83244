"""The permission matrix, generated from the URL configuration.

Every URL pattern × every role × every method it accepts has an expected outcome below. A URL
added without an expectation fails `test_every_url_has_an_expectation`.
"""

import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from recommendations.mail import Topic, unsubscribe_token
from recommendations.models import DeclinedCarry, EvidenceItem, PublicCopy, Report, Snapshot
from recommendations.publishing.public import make_public
from recommendations.publishing.snapshots import publish_snapshot
from recommendations.rules.curation import links_seen
from recommendations.rules.writing import assess
from recommendations.sentences import sentence_spans

from .conftest import make_organization, make_user

# staff: is_staff and nothing else; coordinator: staff in the Coordinators group.
# foreign: a reviewer of another country's organization: reads everything, writes on Norway nothing.
ROLES = [
    "anonymous",
    "observer",
    "ngo",
    "government",
    "foreign",
    "staff",
    "coordinator",
    "superuser",
]
READERS = ["observer", "ngo", "government", "foreign", "staff", "coordinator", "superuser"]
LOGIN = "login"  # a redirect to the log-in page
REDIRECT = "redirect"  # any other redirect


def everyone(outcome) -> dict:
    return {"anonymous": LOGIN, **dict.fromkeys(READERS, outcome)}


def writers(ok) -> dict:
    """Only reviewers write, each for their own organization."""
    return {
        "anonymous": LOGIN,
        "observer": 403,
        "ngo": ok,
        "government": ok,
        "foreign": 403,  # reviewers write only on their own country's reports
        "staff": 403,  # a coordinator has no organization to speak for
        "coordinator": 403,
        "superuser": 403,
    }


ASSESS = {"status": "IN_PROGRESS", "rationale": "Matrix test.", "based_on": ""}
# Publishing takes the publish_snapshot permission; staff status alone is not enough.
PUBLISH_OUTCOMES = {**everyone(403), "coordinator": REDIRECT, "superuser": REDIRECT}


def curators(outcome) -> dict:
    """Curating evidence takes staff status and the evidence permissions (Coordinators)."""
    return {**everyone(403), "coordinator": outcome, "superuser": outcome}


def passage(role: str) -> dict:
    """The first sentence of Norway 2024's protection section, linked to recommendation 1."""
    report = Report.objects.get(slug="norway-2024")
    section = report.sections.get(kind="PROTECTION")
    start, end = sentence_spans(report.source_text, section.start_offset, section.end_offset)[0]
    return {"start": start, "end": end, "stance_1": "CONTEXT", "note": ""}


def relinked(role: str) -> dict:
    """The first evidence item's panel, sent back with the links it showed."""
    item = EvidenceItem.objects.order_by("pk").first()
    data = {"start": item.start_offset, "end": item.end_offset, "seen": links_seen(item)}
    return data | {"stance_1": "CONTEXT", "note": ""}


def accepted(role: str) -> dict:
    data = passage(role)
    return {"number": 1, "start": data["start"], "end": data["end"], "stance": "GAP"}


# name → method → (data, {role: expected})
EXPECTED = {
    "home": {"GET": (None, everyone(REDIRECT))},
    "ping": {"GET": (None, everyone(200))},
    # The language switcher: everyone, the log-in page too; back to `next`.
    "set_language": {
        "POST": ({"language": "nb", "next": "/reports/"}, {role: REDIRECT for role in ROLES})
    },
    "favicon": {"GET": (None, {"anonymous": REDIRECT, **dict.fromkeys(READERS, REDIRECT)})},
    "status_stylesheet": {"GET": (None, {"anonymous": 200, **dict.fromkeys(READERS, 200)})},
    "reports": {"GET": (None, everyone(200))},
    "dashboard": {"GET": (None, everyone(200))},
    "source": {"GET": (None, everyone(200))},
    # Norway 2024 has no earlier year: a page saying so.
    "changes": {"GET": (None, everyone(200))},
    "quote_passage": {
        "GET": (
            lambda role: {k: v for k, v in passage(role).items() if k in ("start", "end")},
            curators(200),
        ),
        "POST": (passage, curators(REDIRECT)),
    },
    "evidence_panel": {"GET": (None, curators(200)), "POST": (relinked, curators(REDIRECT))},
    "evidence_workspace": {"GET": (None, curators(200))},
    "accept_proposal": {"POST": (accepted, curators(REDIRECT))},
    "accept_verbatim": {"POST": (None, curators(REDIRECT))},
    # Norway 2024 has no earlier year, so no earlier quote to decline.
    "decline_carry": {"POST": ({"number": 1, "from_evidence": 1}, curators(404))},
    "recommendation": {"GET": (None, everyone(200))},
    "assess": {"POST": (ASSESS, writers(REDIRECT))},
    "comment": {"POST": ({"body": "Matrix comment."}, writers(REDIRECT))},
    # Nothing to carry forward on Norway 2024 (no earlier year): writers are sent back.
    "carry_forward": {
        "POST": ({"status": "IN_PROGRESS", "rationale": "Matrix."}, writers(REDIRECT))
    },
    # Following is reading (observers too, and whatever the report's country), but takes a
    # membership.
    "follow": {
        "POST": ({"follow": "1"}, {**writers(REDIRECT), "observer": REDIRECT, "foreign": REDIRECT})
    },
    # No log-in: the signed token in the address is the proof (a valid one here).
    "unsubscribe": {
        "GET": (None, {role: 200 for role in ROLES}),
        "POST": (None, {role: 200 for role in ROLES}),
    },
    "export": {"GET": (None, everyone(200))},
    "snapshots": {
        "GET": (None, everyone(200)),
        "POST": ({"title": "Matrix snapshot"}, PUBLISH_OUTCOMES),
    },
    "snapshot": {"GET": (None, everyone(200))},
    "snapshot_export": {"GET": (None, everyone(200))},
    "snapshot_compare": {"GET": (None, everyone(200))},
    "login": {
        "GET": (None, {role: 200 for role in ROLES}),
        "POST": (
            lambda role: {"username": f"nobody-{role}", "password": "wrong"},
            {role: 200 for role in ROLES},
        ),
    },
    "logout": {"POST": (None, {role: LOGIN for role in ROLES})},
    "password_change": {"GET": (None, everyone(200)), "POST": (None, everyone(200))},
    "password_change_done": {"GET": (None, everyone(200))},
    # Anyone may ask for a reset link, signed in or not: the same answer whatever the address.
    "password_reset": {
        "GET": (None, {role: 200 for role in ROLES}),
        "POST": (lambda role: {"email": f"{role}@example.org"}, {role: REDIRECT for role in ROLES}),
    },
    "password_reset_done": {"GET": (None, {role: 200 for role in ROLES})},
    # A link that is not one (the test's uid and token): "this link no longer works".
    "password_reset_confirm": {
        "GET": (None, {role: 200 for role in ROLES}),
        "POST": (None, {role: 200 for role in ROLES}),
    },
    "password_reset_complete": {"GET": (None, {role: 200 for role in ROLES})},
    "log_out_everywhere": {"POST": (None, {role: LOGIN for role in ROLES})},
    # Two-factor: reviewers and observers may set it up (a first POST without a code is
    # refused); staff, verified (as force_login signs them in here), see that it is on.
    "two_factor": {
        "GET": (None, everyone(200)),
        "POST": (None, {**everyone(422), "staff": 200, "coordinator": 200, "superuser": 200}),
    },
    "two_factor_verify": {
        "GET": (None, {**everyone(REDIRECT), "staff": 200, "coordinator": 200, "superuser": 200}),
        "POST": (None, {**everyone(REDIRECT), "staff": 422, "coordinator": 422, "superuser": 422}),
    },
    # The submission draft: a reviewer's own organization's (of the report's country);
    # coordinators choose the organization (none chosen here: 400); nobody else has one.
    "submission": {
        "GET": (
            None,
            {
                **everyone(403),
                "ngo": 200,
                "government": 200,
                "coordinator": 400,
                "superuser": 400,
            },
        )
    },
    # Single sign-on (set up here, `sign_on_set_up`): anyone may start one (to the provider);
    # an answer without a code is refused, back to the log-in page.
    "sign_on": {"GET": (None, {role: REDIRECT for role in ROLES})},
    "sign_on_callback": {"GET": (None, {role: LOGIN for role in ROLES})},
    # Making a published snapshot public (or withdrawing it): the publish_publicly permission.
    "snapshot_public": {"POST": ({"public": "1"}, PUBLISH_OUTCOMES)},
    # Public pages: the same for everyone, signed in or not (the cookies are not read).
    "robots_txt": {"GET": (None, {role: 200 for role in ROLES})},
    "public_index": {"GET": (None, {role: 200 for role in ROLES})},
    "public_feed": {"GET": (None, {role: 200 for role in ROLES})},
    "public_report": {"GET": (None, {role: 200 for role in ROLES})},
    "public_report_feed": {"GET": (None, {role: 200 for role in ROLES})},
    "public_snapshot": {"GET": (None, {role: 200 for role in ROLES})},
    "public_snapshot_export": {"GET": (None, {role: 200 for role in ROLES})},
    # An invitation's link (here not one): "this invitation no longer works", whoever asks.
    "accept_invitation": {
        "GET": (None, {role: 410 for role in ROLES}),
        "POST": (None, {role: 410 for role in ROLES}),
    },
}

URL_ARGUMENTS = {
    "slug": "norway-2024",
    "number": 1,
    "extension": "csv",
    "country": "norway",
    "year": 2024,
}
EXTENSIONS = {"submission": "docx"}


def walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield (
                f"{namespace}{pattern.name}" if pattern.name else None,
                prefix + str(pattern.pattern),
            )


def app_urls() -> list[str]:
    return [name for name, _ in walk(get_resolver().url_patterns) if name and ":" not in name]


def existing_pk(route: str) -> str:
    """A stored object of the route's model, so views get past "not found" to the permission
    check; "1" when there is none."""
    match = re.match(r"admin/(\w+)/(\w+)/<path:object_id>", route)
    if match:
        model = apps.get_model(*match.groups())
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            return str(obj.pk)
    return "1"


def admin_paths() -> list[tuple[str, str]]:
    """Every admin route made concrete: an object id of a stored object, other parameters 1,
    regex parts a plausible value."""
    paths = []
    for name, route in walk(get_resolver().url_patterns):
        if not route.startswith("admin/"):
            continue
        path = re.sub(r"<path:object_id>", existing_pk(route), route)
        path = re.sub(r"<[^>]+>", "1", path)
        path = re.sub(r"\(\?P<app_label>[^)]*\)", "recommendations", path)
        path = re.sub(r"\(\?P<url>\.\*\)", "no-such-page/", path)
        path = re.sub(r"\(\[\^/\]\+\)", "1", path)
        path = path.replace("^", "").replace("$", "")
        paths.append((name or "(unnamed)", "/" + path))
    return paths


@pytest.fixture(autouse=True)
def sign_on_set_up(settings):
    """Single sign-on on, with a provider that is never reached (no answer has a code here)."""
    settings.OIDC_ISSUER = "https://idp.example.org"
    settings.OIDC_RP_CLIENT_ID = "tracker"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example.org/authorize"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "recommendations.single_sign_on.Backend",
    ]


@pytest.fixture
def accounts(norway, people, superuser):
    """One user per role of the matrix (the shared people, and a superuser)."""
    return {
        "observer": people["observer"],
        "ngo": people["ngo"],
        "government": people["gov"],
        "foreign": make_user("swede", make_organization("Svenska nätverket", country="Sweden")),
        "staff": people["staff"],
        "coordinator": people["coordinator"],
        "superuser": superuser,
    }


@pytest.fixture
def users(accounts, norway):
    """The matrix's users, and two snapshots for the snapshot routes."""
    publish_snapshot(norway, published_by=accounts["superuser"], title="First")
    publish_snapshot(norway, published_by=accounts["superuser"], title="Second")
    # A declined carried quote, so that its admin pages get past "not found".
    first = norway.recommendations.get(number=1)
    DeclinedCarry.objects.create(recommendation=first, evidence=first.evidence_items.first())
    return accounts


def concrete_url(name: str) -> str:
    snapshots = list(Snapshot.objects.order_by("pk"))
    ngo = get_user_model().objects.get(username="ngo")
    pk_of = {"evidence_panel": EvidenceItem.objects.order_by("pk").values_list("pk", flat=True)}
    arguments = {
        **URL_ARGUMENTS,
        "pk": pk_of[name].first() if name in pk_of else snapshots[0].pk if snapshots else 1,
        "token": unsubscribe_token(ngo, Topic.DIGESTS),
        "uidb64": "MQ",
        "extension": EXTENSIONS.get(name, URL_ARGUMENTS["extension"]),
        "sha": copy.sha256 if (copy := PublicCopy.objects.current().first()) else "0" * 64,
    }
    route = next(route for n, route in walk(get_resolver().url_patterns) if n == name)
    needed = re.findall(r"<(?:\w+:)?(\w+)>", route)
    url = reverse(name, kwargs={key: arguments[key] for key in needed})
    if name == "snapshot_compare":
        url += f"?older={snapshots[0].pk}&newer={snapshots[1].pk}"
    return url


def outcome(response) -> int | str:
    if response.status_code in (301, 302):
        return LOGIN if response["Location"].startswith("/accounts/login/") else REDIRECT
    return response.status_code


def login_as(client, users, role: str):
    client.logout()
    if role != "anonymous":
        client.force_login(users[role])


def test_every_url_has_an_expectation():
    assert set(app_urls()) == set(EXPECTED), "add the new URL to EXPECTED with its outcomes"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_role_gets_the_expected_answer_from_every_url_and_method(
    client, accounts, norway, name
):
    users = accounts
    if "snapshot" in name or name.startswith("public"):  # two snapshots, the first public
        first = publish_snapshot(norway, published_by=accounts["superuser"], title="First")
        publish_snapshot(norway, published_by=accounts["superuser"], title="Second")
        if name.startswith("public"):
            make_public(first, by=accounts["superuser"], show_names=False)
    url = concrete_url(name)
    wrong = []
    for method, (data, expected) in EXPECTED[name].items():
        for role in ROLES:
            login_as(client, users, role)
            payload = data(role) if callable(data) else data
            response = getattr(client, method.lower())(url, payload or {})
            if outcome(response) != expected[role]:
                wrong.append(f"{method} {url} as {role}: {outcome(response)}, not {expected[role]}")
    # Methods the view does not take are refused (after the log-in check).
    for method in {"GET", "POST"} - set(EXPECTED[name]):
        login_as(client, users, "ngo")
        response = getattr(client, method.lower())(url)
        if response.status_code != 405:
            wrong.append(f"{method} {url} as ngo: {response.status_code}, not 405")
    assert not wrong, "\n".join(wrong)


def test_refused_writes_change_nothing(client, users):
    """The 403s above are refusals before any write."""
    from recommendations.models import Assessment, Comment

    for role in ("observer", "staff", "coordinator", "superuser"):
        login_as(client, users, role)
        client.post(concrete_url("assess"), ASSESS)
        client.post(concrete_url("comment"), {"body": "x"})
    assert not Assessment.objects.exists()
    assert not Comment.objects.exists()
    assert Snapshot.objects.count() == 2
    assert Report.objects.count() == 1


def refused_to_log_in(response) -> bool:
    """Sent to a log-in page: the site's (anonymous) or the admin's (not staff)."""
    return response.status_code == 302 and response["Location"].startswith(
        ("/admin/login/", "/accounts/login/")
    )


def test_admin_is_for_staff_only(client, users):
    paths = admin_paths()
    assert len(paths) > 50  # every registered model's views, not a sample
    wrong = []
    for role in ("anonymous", "observer", "ngo", "government"):
        login_as(client, users, role)
        for name, path in paths:
            response = client.get(path)
            if name == "admin:login":
                allowed = response.status_code == 200 or (
                    response.status_code == 302 and role != "anonymous"
                )
            elif name == "admin:logout":
                allowed = response.status_code in (302, 405)  # a POST; a GET is sent away
            else:
                allowed = refused_to_log_in(response)
            if not allowed:
                wrong.append(f"{path} as {role}: {response.status_code}")
    # Staff without model permissions see the admin but no data.
    login_as(client, users, "staff")
    for name, path in paths:
        response = client.get(path)
        model_view = re.fullmatch(
            r"admin:[a-z]+_[a-z]+_(changelist|add|change|delete|history)", name
        )
        if model_view and response.status_code not in (403, 302):
            wrong.append(f"{path} as staff without permissions: {response.status_code}")
    # The superuser reaches everything without a server error.
    login_as(client, users, "superuser")
    for _name, path in paths:
        response = client.get(path)
        if response.status_code >= 500:
            wrong.append(f"{path} as superuser: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_only_those_who_may_add_reports_reach_the_chapter_import(client, users):
    """The admin's "Import a chapter" pages take the add_report permission, which the
    Coordinators group holds; staff status alone is not enough."""
    url = reverse("admin:recommendations_report_import")
    expected = {
        "anonymous": "admin login",
        "observer": "admin login",
        "ngo": "admin login",
        "government": "admin login",
        "staff": 403,
        "coordinator": 200,
        "superuser": 200,
    }
    wrong = []
    for role, outcome_expected in expected.items():
        login_as(client, users, role)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            got = "admin login" if refused_to_log_in(response) else response.status_code
            if got != outcome_expected:
                wrong.append(f"{method.upper()} {url} as {role}: {got}, not {outcome_expected}")
    assert not wrong, "\n".join(wrong)
    assert Report.objects.count() == 1


# --- escalation through the admin ---------------------------------------------------------------
#
# Each row: an account or organization a role tries to change through the admin, by posting the
# whole change form as a superuser would see it (read-only fields included), and whether the
# change takes effect. Only a superuser changes privileges, other staff accounts, a staff
# account's membership, or the side an organization's positions count for
# (recommendations/rules/privileges.py). The roles left out of a row do not apply to it (a
# superuser's own account is already everything).

NEW_PASSWORD = "a-new-long-password-42"

ESCALATIONS = {
    # (whose account, what change): {role: takes effect}
    ("own", "make superuser"): {"staff": False, "coordinator": False},
    ("own", "join a group"): {"staff": False, "coordinator": False},
    ("own", "grant a permission"): {"staff": False, "coordinator": False},
    ("own", "deactivate"): {"staff": False, "coordinator": False},
    ("own", "set password"): {"staff": False, "coordinator": True},
    ("own", "change e-mail"): {"staff": False, "coordinator": True},
    ("own", "give a membership"): {"staff": False, "coordinator": False},
    ("superuser", "set password"): {"staff": False, "coordinator": False},
    ("superuser", "deactivate"): {"staff": False, "coordinator": False},
    ("superuser", "change e-mail"): {"staff": False, "coordinator": False},
    ("superuser", "remove superuser"): {"staff": False, "coordinator": False},
    # Nobody sets another person's password, a superuser neither (issue 26).
    ("peer", "set password"): {"staff": False, "coordinator": False, "superuser": False},
    ("peer", "deactivate"): {"staff": False, "coordinator": False, "superuser": True},
    ("peer", "make superuser"): {"staff": False, "coordinator": False, "superuser": True},
    ("peer", "give a membership"): {"staff": False, "coordinator": False, "superuser": True},
    ("reviewer", "make staff"): {"staff": False, "coordinator": False, "superuser": True},
    ("reviewer", "join a group"): {"staff": False, "coordinator": False, "superuser": True},
    ("reviewer", "grant a permission"): {"staff": False, "coordinator": False, "superuser": True},
    ("reviewer", "set password"): {"staff": False, "coordinator": False, "superuser": False},
    # Where a password reset goes: a coordinator who changed it could choose the password.
    ("reviewer", "change e-mail"): {"staff": False, "coordinator": False, "superuser": True},
    ("reviewer", "deactivate"): {"staff": False, "coordinator": True, "superuser": True},
    ("reviewer", "give a membership"): {"staff": False, "coordinator": True, "superuser": True},
    ("assessed organization", "make government"): {
        "staff": False,
        "coordinator": False,
        "superuser": True,
    },
    ("assessed organization", "move country"): {
        "staff": False,
        "coordinator": False,
        "superuser": True,
    },
    ("assessed report", "move country"): {
        "staff": False,
        "coordinator": False,
        "superuser": True,
    },
    ("new organization", "make government"): {
        "staff": False,
        "coordinator": True,
        "superuser": True,
    },
}


@pytest.fixture
def escalation_targets(accounts, norway):
    """Accounts and organizations to aim at, besides the roles' own."""
    from recommendations.status import Status

    from .conftest import make_coordinator

    assessed = accounts["ngo"].membership.organization
    assess(
        norway.recommendations.get(number=1),
        author=accounts["ngo"],
        status=Status.IN_PROGRESS,
        rationale="Has a position.",
    )
    return {
        "superuser": accounts["superuser"],
        "peer": make_coordinator("peer.coordinator"),
        "reviewer": make_user("reviewer.without.organization"),
        "assessed organization": assessed,
        "new organization": make_organization("Not yet heard from"),
        "assessed report": norway,
    }


def attempt_escalation(client, admin_client, actor, target, change: str) -> None:
    """Post the change as `actor` (logged in on `client`)."""
    from django.contrib.auth.models import Group, Permission

    from recommendations.models import Organization, Report

    from .html_forms import admin_form_data

    if isinstance(target, Report):
        url = reverse("admin:recommendations_report_change", args=[target.pk])
        data = admin_form_data(admin_client, url)
        data["country"] = ["Sweden"]
        client.post(url, {**data, "_save": "Save"})
        return
    if isinstance(target, Organization):
        url = reverse("admin:recommendations_organization_change", args=[target.pk])
        data = admin_form_data(admin_client, url)
        if change == "make government":
            data["kind"] = [Organization.Kind.GOVERNMENT]
        else:
            data["country"] = ["Sweden"]
        client.post(url, {**data, "_save": "Save"})
        return
    if change == "set password":
        url = reverse("admin:auth_user_password_change", args=[target.pk])
        client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        return
    if change == "give a membership":
        organization = make_organization(f"Speaks for {target.username}")
        client.post(
            reverse("admin:recommendations_membership_add"),
            {"user": target.pk, "organization": organization.pk, "role": "REVIEWER"},
        )
        return
    url = reverse("admin:auth_user_change", args=[target.pk])
    data = admin_form_data(admin_client, url)
    if change in ("make superuser", "make staff"):
        data["is_superuser" if change == "make superuser" else "is_staff"] = ["on"]
    elif change == "remove superuser":
        data.pop("is_superuser", None)
    elif change == "join a group":
        everything = Group.objects.create(name=f"Everything for {target.username}")
        everything.permissions.set(Permission.objects.all())
        data["groups"] = [*data.get("groups", []), str(everything.pk)]
    elif change == "grant a permission":
        granted = Permission.objects.get(codename="change_group")
        data["user_permissions"] = [*data.get("user_permissions", []), str(granted.pk)]
    elif change == "deactivate":
        data.pop("is_active", None)
    elif change == "change e-mail":
        data["email"] = ["taken.over@example.org"]
    client.post(url, {**data, "_save": "Save"})


def escalation_took_effect(target, change: str) -> bool:
    from recommendations.models import Membership, Organization, Report

    target.refresh_from_db()
    if isinstance(target, Report):
        return target.country == "Sweden"
    if isinstance(target, Organization):
        return target.kind == Organization.Kind.GOVERNMENT or target.country == "Sweden"
    return {
        "make superuser": lambda: target.is_superuser,
        "make staff": lambda: target.is_staff,
        "remove superuser": lambda: not target.is_superuser,
        "join a group": lambda: target.groups.filter(name__startswith="Everything").exists(),
        "grant a permission": lambda: target.user_permissions.filter(
            codename="change_group"
        ).exists(),
        "deactivate": lambda: not target.is_active,
        "set password": lambda: target.check_password(NEW_PASSWORD),
        "change e-mail": lambda: target.email == "taken.over@example.org",
        "give a membership": lambda: Membership.objects.filter(user=target).exists(),
    }[change]()


@pytest.mark.parametrize(("whose", "change"), sorted(ESCALATIONS))
def test_only_a_superuser_changes_privileges_staff_accounts_and_counting_sides(
    client, accounts, escalation_targets, whose, change
):
    from django.test import Client

    admin_client = Client()
    admin_client.force_login(accounts["superuser"])
    wrong = []
    for role, expected in ESCALATIONS[whose, change].items():
        actor = accounts[role]
        target = actor if whose == "own" else escalation_targets[whose]
        login_as(client, accounts, role)
        # Every attempt starts from the stored state (the rows' changes undone between roles).
        with transaction.atomic():
            attempt_escalation(client, admin_client, actor, target, change)
            took_effect = escalation_took_effect(target, change)
            transaction.set_rollback(True)
        if took_effect != expected:
            wrong.append(f"{role} → {whose}: {change}: {'done' if took_effect else 'refused'}")
    assert not wrong, "\n".join(wrong)


# What answers without a log-in: the log-in and account-recovery pages, single sign-on, the
# signed links (unsubscribe, invitation), the status stylesheet, the language switch, the
# favicon, and the public pages with their feeds. Everything else sends to the log-in page.
ANSWERS_WITHOUT_LOG_IN = {
    "set_language",
    "favicon",
    "status_stylesheet",
    "unsubscribe",
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "sign_on",
    "accept_invitation",
    "robots_txt",
    "public_index",
    "public_feed",
    "public_report",
    "public_report_feed",
    "public_snapshot",
    "public_snapshot_export",
}


def test_only_the_listed_pages_answer_without_a_log_in():
    answering = {
        name
        for name, methods in EXPECTED.items()
        if any(expected["anonymous"] != LOGIN for _, expected in methods.values())
    }
    assert answering == ANSWERS_WITHOUT_LOG_IN
