"""The unsubscribe link in every mail (recommendations/mail.py): no log-in, the signed token is
the proof. A GET only asks (mail scanners open links); a POST stops that kind of mail, or with
`resume` turns it back on."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..mail import (
    language_of,
    mask_email,
    read_unsubscribe_token,
    set_subscribed,
    subscribed,
)
from ._shared import bad_request

BAD_LINK = _(
    "This unsubscribe link is incomplete or was not made by this tracker. Copy the whole link "
    "from the email: every email from the tracker ends with one that works."
)


@login_not_required
# Mail clients unsubscribe with one click (RFC 8058) by POSTing to the link from the mail
# itself: there is no page, cookie or CSRF token. The signed token in the address is what
# proves the request, and all it can do is switch one kind of mail to one user off or on.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@never_cache  # it names the user (masked), and may be answered without a log-in
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = read_unsubscribe_token(token)
    if found is None:
        return bad_request(request, str(BAD_LINK))
    user, topic = found
    done = ""  # what this request did: "stopped", "resumed" or nothing (a GET)
    if request.method == "POST":
        resume = "resume" in request.POST
        set_subscribed(user, topic, resume)
        done = "resumed" if resume else "stopped"
    context = {
        "topic": topic,
        "masked_email": mask_email(user.email),
        "subscribed": subscribed(user, topic),
        "done": done,
    }
    # The page answers a link in a mail, written in the user's saved language: the same here,
    # whatever browser opens it.
    with translation.override(language_of(user, default=translation.get_language())):
        return render(request, "recommendations/unsubscribe.html", context)
