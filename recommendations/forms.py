from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import single_sign_on
from .models import Assessment, EvidenceItem, Recommendation, Report, Snapshot, Stance
from .rules.curation import NOT_LINKED
from .rules.privileges import acting_as
from .status import Status
from .validators import refuse_control_characters

# The largest id the database holds (BigAutoField); a larger one overflows SQLite's integers.
MAX_ID = 2**63 - 1


def ascii_integer(value: object, maximum: int = MAX_ID) -> int | None:
    """A whole number from 0 to `maximum` written in ASCII digits, or None. Python's int()
    also takes other scripts' digits ("١٢" is 12), signs, spaces and underscores, and refuses
    more than 4,300 digits with an error: client input goes through here instead."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= maximum else None
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        return None
    if len(value.lstrip("0")) > len(str(maximum)):
        return None
    number = int(value)
    return number if number <= maximum else None


class IdField(forms.IntegerField):
    """An id a page sent back (a hidden field): ASCII digits within the database's range."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        number = ascii_integer(value)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class IdChoiceField(forms.ModelChoiceField):
    """A choice of object by id: anything but an id in ASCII digits is not a valid choice,
    refused before any query."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value and ascii_integer(value) is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Choices of objects by id, each an id in ASCII digits (see IdChoiceField)."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            for each in value:
                if isinstance(each, str) and ascii_integer(each) is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": each},
                    )
        return super().clean(value)


class AssessmentForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices, widget=forms.RadioSelect)
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text=_("Why this status? Point to what has or has not been done."),
    )
    evidence = IdMultipleChoiceField(
        queryset=EvidenceItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Evidence cited"),
    )
    based_on = IdField(required=False, widget=forms.HiddenInput)

    # Shown with the refusal when a colleague's newer assessment made this one stale.
    newer_assessment: Assessment | None = None

    def __init__(self, *args: Any, recommendation: Recommendation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        evidence = cast(forms.ModelMultipleChoiceField, self.fields["evidence"])
        evidence.queryset = recommendation.citable_evidence()


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    evidence = IdChoiceField(
        queryset=EvidenceItem.objects.none(),
        required=False,
        label=_("About evidence item (optional)"),
        empty_label=_("None: about the recommendation as a whole"),
    )

    def __init__(self, *args: Any, recommendation: Recommendation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        evidence = cast(forms.ModelChoiceField, self.fields["evidence"])
        evidence.queryset = recommendation.citable_evidence()


class PublishSnapshotForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        validators=[refuse_control_characters],
        help_text=_("Readers see this title, e.g. “Status for the State Department call, March”."),
    )


class MakePublicForm(forms.Form):
    """Make a published snapshot public (public=1), or withdraw it (public=0)."""

    public = forms.TypedChoiceField(
        choices=[("1", _("Make public")), ("0", _("Withdraw"))], coerce=lambda value: value == "1"
    )
    show_names = forms.BooleanField(
        required=False,
        label=_("Show reviewer names"),
        help_text=_("Otherwise each reviewer's name is replaced by their organization."),
    )


class CompareSnapshotsForm(forms.Form):
    older = IdChoiceField(queryset=Snapshot.objects.none(), label=_("From"))
    newer = IdChoiceField(queryset=Snapshot.objects.none(), label=_("To"))

    def __init__(self, *args: Any, report: Report, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published = report.snapshots.choices()
        cast(forms.ModelChoiceField, self.fields["older"]).queryset = self.published
        cast(forms.ModelChoiceField, self.fields["newer"]).queryset = self.published

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        older, newer = cleaned.get("older"), cleaned.get("newer")
        if older and newer:
            if older.pk == newer.pk:
                raise forms.ValidationError(_("Pick two different snapshots."))
            if (older.published_at, older.pk) > (newer.published_at, newer.pk):
                cleaned["older"], cleaned["newer"] = newer, older  # always earlier → later
        return cleaned


class CarryForwardForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    rationale = forms.CharField(
        strip=True,
        error_messages={"required": _("Give the reasons for carrying it forward.")},
    )


class DashboardFilterForm(forms.Form):
    """The form of the dashboard's filters (filters.RecommendationFilter adds the fields)."""

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        day, cycle = cleaned.get("as_of"), cleaned.get("cycle")
        if day and cycle:
            raise ValidationError(_("Choose a date or a past cycle, not both."))
        if day and day > timezone.localdate():
            raise ValidationError(_("“As of” cannot be in the future."))
        return cleaned


# --- log-in -----------------------------------------------------------------------------------
# Django's AuthenticationForm shows a maximum username length but does not enforce it: any
# username went to authenticate(), and django-axes records a failed log-in's username in a
# CharField(255), which PostgreSQL refuses when longer (a server error). These forms refuse a
# username longer than the User model's (150) before anything reaches the database; django-axes
# then sees only usernames that could exist, and its lock-out works as before.


class LoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        # Checked on the normalised (NFKC) username, which can be longer than what was typed.
        username.validators.append(
            MaxLengthValidator(
                self.username_field.max_length or 254,
                message="A username has at most %(limit_value)d characters.",
            )
        )

    def clean(self) -> dict[str, Any]:
        if not settings.LOCAL_PASSWORDS:
            raise ValidationError(
                _("Passwords are switched off here: sign in with %(provider)s.")
                % {"provider": single_sign_on.provider_name()},
                code="passwords_off",
            )
        # Authenticating may save the account (a password hash upgraded to today's hasher):
        # the server's own write, not one by whoever this browser was signed in as before.
        with acting_as(None):
            return super().clean()


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's log-in form (staff only), with the same username limit."""


class OffsetField(IdField):
    """A character offset into a report's text (ASCII digits, in range)."""


class PassageForm(forms.Form):
    """What to quote: the offsets of a selection (the reader's "Quote this"), or a pasted quote
    with, when it occurs more than once, where it starts. `before` and `after` add (or, when
    negative, drop) whole sentences at either end."""

    start = OffsetField(required=False, label=_("First character"))
    end = OffsetField(required=False, label=_("Character after the last"))
    quote = forms.CharField(
        required=False,
        max_length=5000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Quote"),
        help_text=_("Paste the passage exactly as the report has it."),
    )
    before = forms.IntegerField(required=False, min_value=-20, max_value=20)
    after = forms.IntegerField(required=False, min_value=-20, max_value=20)

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        quote, start, end = cleaned.get("quote"), cleaned.get("start"), cleaned.get("end")
        if self.errors:
            return cleaned
        if quote and quote.strip():
            if end is not None:
                raise ValidationError(
                    _("Paste a quote or give its first and last characters, not both.")
                )
        elif start is None or end is None:
            raise ValidationError(
                _("Paste a quote, or give the first character and the one after the last.")
            )
        elif end <= start:
            raise ValidationError(_("The passage must end after it starts."))
        return cleaned


class CurationForm(forms.Form):
    """An evidence item's links: one stance (or none) per recommendation of its report, and a
    note."""

    start = OffsetField(widget=forms.HiddenInput)
    end = OffsetField(widget=forms.HiddenInput)
    # An existing item's links and note as the panel showed them (rules.curation.links_seen).
    seen = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    note = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Note (optional)"),
        help_text=_("Why this quote matters."),
        validators=[refuse_control_characters],
    )

    def __init__(self, *args: Any, recommendations: list[Recommendation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recommendations = recommendations
        choices = [(NOT_LINKED, _("Not linked")), *Stance.choices]
        for recommendation in recommendations:
            self.fields[self.stance_field(recommendation)] = forms.ChoiceField(
                choices=choices, required=False, label=recommendation.short_title
            )

    @staticmethod
    def stance_field(recommendation: Recommendation) -> str:
        return f"stance_{recommendation.number}"

    def stances(self) -> dict[Recommendation, str]:
        return {r: self.cleaned_data[self.stance_field(r)] for r in self.recommendations}

    def stance_rows(self) -> list[tuple[Recommendation, forms.BoundField]]:
        return [(r, self[self.stance_field(r)]) for r in self.recommendations]


class AcceptProposalForm(forms.Form):
    """One proposal of the evidence workspace, accepted with a stance."""

    number = forms.IntegerField(min_value=1, max_value=1000)
    start = OffsetField()
    end = OffsetField()
    stance = forms.ChoiceField(choices=Stance.choices, label=_("Stance"))
    from_evidence = IdField(required=False)


class DeclineCarryForm(forms.Form):
    number = forms.IntegerField(min_value=1, max_value=1000)
    from_evidence = IdField()
