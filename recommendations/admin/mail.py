"""The record of sent mail (recommendations/mail.py)."""

from django.contrib import admin

from ..models import SentMail
from ._shared import ReadOnlyAdmin


@admin.register(SentMail)
class SentMailAdmin(ReadOnlyAdmin):
    """What was sent: read-only, the record that keeps mail from going out twice."""

    list_display = ["sent_at", "kind", "user", "subject", "key"]
    list_filter = ["kind"]
    search_fields = ["user__username", "user__email", "subject"]
    list_select_related = ["user"]
    date_hierarchy = "sent_at"
