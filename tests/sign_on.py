"""The test OpenID Connect provider (tests/oidc_provider/, django-oauth-toolkit) run on
loopback, and a person's browser at it: what the single sign-on tests sign in through."""

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET = "tracker-test-client-secret"
PASSWORD = "provider-password"  # every person's, at the provider
CALLBACK = "http://testserver/accounts/sign-on/callback/"  # the test client's


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Provider:
    issuer: str
    environment: dict[str, str]
    process: subprocess.Popen | None = None
    discovery: dict = field(default_factory=dict)

    def run(self, *arguments: str) -> None:
        subprocess.run(
            [sys.executable, *arguments],
            env=self.environment,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )

    def register(self, *redirect_uris: str) -> None:
        """The tracker's callbacks the provider accepts (the test client's and a live server's)."""
        self.run("-m", "tests.oidc_provider.register", SECRET, CALLBACK, *redirect_uris)

    def sign_in(
        self, authorize_url: str, username: str, browser: requests.Session | None = None
    ) -> tuple[str, requests.Session]:
        """A person at the provider: opens the authorization URL, signs in (unless their browser
        is signed in there already), and is sent back; the URL they are sent back to (the
        tracker's callback, not followed) and their browser."""
        browser = browser or requests.Session()
        page = browser.get(authorize_url, allow_redirects=False, timeout=10)
        if page.status_code == 302 and "/accounts/login/" in page.headers["Location"]:
            page = browser.get(urljoin(page.url, page.headers["Location"]), timeout=10)
        if urlsplit(page.url).path.endswith("/accounts/login/"):
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert token, page.text
            page = browser.post(
                page.url,
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "username": username,
                    "password": PASSWORD,
                    "next": parse_qs(urlsplit(page.url).query)["next"][0],
                },
                headers={"Referer": page.url},
                allow_redirects=False,
                timeout=10,
            )
            assert page.status_code == 302, page.text
            page = browser.get(urljoin(page.url, page.headers["Location"]), allow_redirects=False)
        assert page.status_code == 302, (page.status_code, page.text[:500])
        return page.headers["Location"], browser

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_provider(directory: Path) -> Provider:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "PROVIDER_DATABASE": str(directory / "provider.sqlite3"),
        "PROVIDER_ISSUER": issuer,
        "PYTHONPATH": str(ROOT),
    }
    provider = Provider(issuer=issuer, environment=environment)
    provider.run("-m", "django", "migrate", "--noinput")
    provider.register()
    provider.process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            answer = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
            if answer.ok:
                provider.discovery = answer.json()
                return provider
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline or provider.process.poll() is not None:
            provider.stop()
            raise RuntimeError("the test OpenID Connect provider did not start")
        time.sleep(0.2)
