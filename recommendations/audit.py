"""The coordinators' audit trail (django-simple-history) always knows the value before a change.

Rows that entered through a fixture or a migration have no history yet (raw saves are not
recorded), so the first edit would show only the new value. Before that first edit, the row as
it stands in the database is recorded as the starting point.
"""

from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import receiver
from simple_history.utils import get_history_manager_for_model

from .models import (
    EvidenceItem,
    EvidenceLink,
    Membership,
    Organization,
    Recommendation,
    Report,
    ReviewCycle,
)

AUDITED = (
    Report,
    Recommendation,
    EvidenceItem,
    EvidenceLink,
    Organization,
    Membership,
    ReviewCycle,
)
BASELINE_REASON = "State before the first audited change"


def record_baseline(
    sender: type[models.Model], instance: models.Model, raw: bool = False, **kwargs: object
) -> None:
    if raw or instance.pk is None:
        return
    history = get_history_manager_for_model(sender)
    if history.filter(**{sender._meta.pk.attname: instance.pk}).exists():
        return
    stored = sender._default_manager.filter(pk=instance.pk).first()
    if stored is not None:
        history.bulk_history_create([stored], default_change_reason=BASELINE_REASON)


for model in AUDITED:
    receiver(pre_save, sender=model, dispatch_uid=f"audit-baseline-{model.__name__}")(
        record_baseline
    )
