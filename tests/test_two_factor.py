"""Two-factor authentication (recommendations/two_factor.py): staff give a code after their
password before any page; reviewers may turn it on; recovery codes; slowing down after wrong
codes; a superuser removes a lost device. These tests log in through the form (force_login
signs staff in verified: tests/conftest.py)."""

import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "a-long-test-password"


def log_in(username: str, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302
    return client


def code_of(device: TOTPDevice, steps_later: int = 0) -> str:
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0 - steps_later * device.step,
        digits=device.digits,
    )
    return f"{value:0{device.digits}d}"


def set_up(client: Client, user) -> list[str]:
    """Through the set-up page: the first right code turns it on; the recovery codes shown."""
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.post("/accounts/two-factor/", {"code": code_of(device)}).content.decode()
    return re.findall(r"<li><code>([0-9a-f]+)</code></li>", page)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/recommendations/evidenceitem/",
        "/reports/norway-2024/",
        "/reports/norway-2024/snapshots/",
    ],
)
def test_staff_reach_nothing_before_setting_up_a_second_factor(people, path):
    client = log_in("coordinator")
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/two-factor/?{urlencode({'next': path})}"
    # An HTMX request is sent there as a whole page.
    htmx = client.get(path, headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx["HX-Redirect"].startswith("/accounts/two-factor/")


def test_setting_up_shows_the_secret_then_turns_it_on_with_recovery_codes(people):
    client = log_in("coordinator")
    page = client.get("/accounts/two-factor/?next=/admin/").content.decode()
    assert "<svg width=" in page and "Staff accounts need a second factor" in page
    device = TOTPDevice.objects.get(user=people["coordinator"], confirmed=False)
    wrong = client.post(
        "/accounts/two-factor/", {"code": "000000" if code_of(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 422 and "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # the next try waits a second
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    codes = set_up(client, people["coordinator"])
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200


def test_every_later_log_in_asks_for_a_code_and_a_recovery_code_works_once(people):
    codes = set_up(log_in("coordinator"), people["coordinator"])
    client = log_in("coordinator")
    response = client.get("/admin/")
    assert response["Location"] == "/accounts/two-factor/verify/?next=%2Fadmin%2F"
    verified = client.post("/accounts/two-factor/verify/", {"code": codes[0], "next": "/admin/"})
    assert (verified.status_code, verified["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
    again = log_in("coordinator")
    refused = again.post("/accounts/two-factor/verify/", {"code": codes[0]})
    assert refused.status_code == 422  # used up
    assert not StaticToken.objects.filter(token=codes[0]).exists()


def test_a_code_from_the_app_logs_in_and_wrong_codes_slow_it_down(people):
    set_up(log_in("coordinator"), people["coordinator"])
    device = TOTPDevice.objects.get(user=people["coordinator"], confirmed=True)
    client = log_in("coordinator")
    wrong = client.post("/accounts/two-factor/verify/", {"code": "12345"})
    assert wrong.status_code == 422
    # Straight after a wrong code, even the right one waits (django-otp's throttling).
    too_soon = client.post(
        "/accounts/two-factor/verify/", {"code": code_of(device, steps_later=-1)}
    )
    assert too_soon.status_code == 422
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=None, throttling_failure_count=0
    )
    ok = client.post(
        "/accounts/two-factor/verify/",
        {"code": code_of(device, steps_later=1), "next": "https://elsewhere.example/"},
    )
    assert (ok.status_code, ok["Location"]) == (302, "/")  # never to another site


def test_reviewers_may_turn_it_on_and_off(people):
    client = log_in("ngo")
    assert client.get("/reports/norway-2024/").status_code == 200  # not required
    codes = set_up(client, people["ngo"])
    assert "On: after your password" in client.get("/accounts/two-factor/").content.decode()
    # Turned on, it is asked for at every later log-in, as for staff.
    later = log_in("ngo")
    asked = later.get("/reports/norway-2024/?q=police&pillar=PROSECUTION")
    assert asked["Location"] == (
        "/accounts/two-factor/verify/?next=%2Freports%2Fnorway-2024%2F%3Fq%3Dpolice%26pillar%3DPROSECUTION"
    )  # the whole address kept
    back = later.post(
        "/accounts/two-factor/verify/",
        {"code": codes[0], "next": "/reports/norway-2024/?q=police&pillar=PROSECUTION"},
    )
    assert back["Location"] == "/reports/norway-2024/?q=police&pillar=PROSECUTION"
    off = client.post("/accounts/two-factor/", {"action": "remove"}, follow=True)
    assert "Two-factor authentication is off." in off.content.decode()
    assert not TOTPDevice.objects.filter(user=people["ngo"], confirmed=True).exists()


def test_a_superuser_removes_a_lost_device_and_the_next_log_in_sets_up_a_new_one(people, superuser):
    set_up(log_in("coordinator"), people["coordinator"])
    admin = Client()
    admin.force_login(superuser)
    device = TOTPDevice.objects.get(user=people["coordinator"])
    listed = admin.get("/admin/otp_totp/totpdevice/").content.decode()
    assert "coordinator" in listed
    # Nobody, a superuser neither, reads someone's secret in admin.
    assert admin.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    assert admin.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403
    admin.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert not TOTPDevice.objects.filter(user=people["coordinator"]).exists()
    client = log_in("coordinator")
    assert client.get("/admin/")["Location"] == "/accounts/two-factor/?next=%2Fadmin%2F"
    # Coordinators do not manage second factors.
    coordinator = Client()
    coordinator.force_login(people["coordinator"])
    assert coordinator.get("/admin/otp_totp/totpdevice/").status_code == 403


def test_a_superuser_without_staff_status_gives_a_code_too(superuser):
    superuser.is_staff = False
    superuser.save()
    client = log_in(superuser.username, "a-long-pw-123")
    assert client.get("/reports/")["Location"].startswith("/accounts/two-factor/")
