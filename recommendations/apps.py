from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


class RecommendationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recommendations"
    verbose_name = gettext_lazy("Recommendations")

    def ready(self) -> None:
        from . import (
            accounts,  # noqa: F401  (connects the log-in signal that starts a session's clock)
            audit,  # noqa: F401  (connects the audit baseline signal)
            languages,  # noqa: F401  (connects the log-in signal)
            prepared,
        )
        from .database_roles import grant_app_role
        from .groups import ensure_coordinators_group
        from .rules import privileges

        privileges.connect()
        prepared.connect()
        # After auth has created this app's permissions (auth comes first in INSTALLED_APPS).
        post_migrate.connect(
            ensure_coordinators_group, sender=self, dispatch_uid="ensure-coordinators-group"
        )
        post_migrate.connect(grant_app_role, sender=self, dispatch_uid="grant-app-role")
