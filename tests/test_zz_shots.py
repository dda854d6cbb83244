import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from recommendations.invitations import link, send
from recommendations.models import Invitation

from .conftest import FIXTURES, make_coordinator, make_organization, make_user
from .test_browser import chromium

pytestmark = pytest.mark.django_db(transaction=True)


def test_shots(live_server, provider):
    call_command("loaddata", *FIXTURES, verbosity=0)
    reviewer = make_user("r", make_organization("Shot NGO"), first_name="Rita")
    reviewer.email = "reviewer@example.org"
    reviewer.save()
    coordinator = make_coordinator("c")
    base = live_server.url
    provider.register(f"{base}/accounts/sign-on/callback/")
    inv = Invitation.objects.create(email="i@example.org", organization=reviewer.membership.organization, invited_by=coordinator)
    send(inv)
    only = [b for b in settings.AUTHENTICATION_BACKENDS if "ModelBackend" not in b]
    with chromium() as browser:
        page = browser.new_page()
        for w in (1280, 390):
            page.set_viewport_size({"width": w, "height": 800})
            page.goto(base + link(inv).removeprefix(settings.TRACKER_BASE_URL))
            page.screenshot(path=f"test-artifacts/inv-both-{w}.png", full_page=True)
        with override_settings(LOCAL_PASSWORDS=False, AUTHENTICATION_BACKENDS=only):
            for w in (1280, 390):
                page.set_viewport_size({"width": w, "height": 800})
                page.goto(f"{base}/accounts/login/")
                page.screenshot(path=f"test-artifacts/login-only-{w}.png", full_page=True)
                page.goto(f"{base}/accounts/password_reset/")
                page.screenshot(path=f"test-artifacts/off-{w}.png", full_page=True)
                page.goto(base + link(inv).removeprefix(settings.TRACKER_BASE_URL))
                page.screenshot(path=f"test-artifacts/inv-only-{w}.png", full_page=True)
            page.goto(f"{base}/accounts/login/")
            page.get_by_role("link", name="Sign in with Test provider").click()
            page.get_by_label("Username").fill("stranger")
            page.get_by_label("Password").fill("provider-password")
            page.get_by_role("button", name="Sign in at the provider").click()
            page.wait_for_url(re.compile(r"/accounts/login/"))
            page.screenshot(path="test-artifacts/refused-390.png", full_page=True)
            page.context.clear_cookies()
            page.goto(f"{base}/accounts/login/")
            page.get_by_role("link", name="Sign in with Test provider").click()
            page.get_by_label("Username").fill("reviewer")
            page.get_by_label("Password").fill("provider-password")
            page.get_by_role("button", name="Sign in at the provider").click()
            page.wait_for_url(re.compile(r"/reports/"))
            for w in (1280, 390):
                page.set_viewport_size({"width": w, "height": 800})
                page.goto(f"{base}/accounts/password_change/")
                page.screenshot(path=f"test-artifacts/sessions-{w}.png", full_page=True)
