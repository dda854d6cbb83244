"""Logging in and out, and who the header says is logged in."""

import pytest


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/reports/norway-2024/",
        "/reports/norway-2024/recommendations/1/",
        "/reports/norway-2024/source/",
        "/accounts/password_change/",
    ],
)
def test_every_page_requires_login(client, norway, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_login_page_is_public_and_logout_needs_post(client, people):
    assert client.get("/accounts/login/").status_code == 200
    client.force_login(people["ngo"])
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/reports/norway-2024/").status_code == 302


def test_login_with_password_redirects_to_next_and_wrong_password_is_refused(client, people):
    response = client.post(
        "/accounts/login/",
        {"username": "ngo", "password": "a-long-test-password", "next": "/reports/norway-2024/"},
    )
    assert response.status_code == 302 and response["Location"] == "/reports/norway-2024/"
    response = client.post("/accounts/login/", {"username": "ngo", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_header_shows_name_organization_and_role(client, people):
    client.force_login(people["ngo"])
    html = client.get("/reports/norway-2024/").content.decode()
    assert "Nina Ås" in html and "Nettverk mot menneskehandel" in html and "Reviewer" in html
