"""gunicorn settings (read from the working directory); the command line overrides them."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
timeout = 60  # a PDF of a large report takes a few seconds


def post_worker_init(worker) -> None:
    """Find the PDF fonts once per worker at start-up rather than in a user's first PDF."""
    from recommendations.publishing.pdf import font_configuration

    font_configuration()
