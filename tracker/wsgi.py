"""
WSGI config for tracker project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/6.1/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

from tracker.request import Request

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

application = get_wsgi_application()
# Whatever the Content-Type header says (unparseable, an odd charset), the request is built and
# answered, not a server error before any handler runs (tracker/request.py).
application.request_class = Request
