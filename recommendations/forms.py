from typing import Any, cast

from django import forms

from .models import Assessment, EvidenceItem, Recommendation, Report, Snapshot
from .status import Status


class AssessmentForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices, widget=forms.RadioSelect)
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="Why this status? Point to what has or has not been done.",
    )
    evidence = forms.ModelMultipleChoiceField(
        queryset=EvidenceItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Evidence cited",
    )
    based_on = forms.IntegerField(required=False, widget=forms.HiddenInput)

    # Shown with the refusal when a colleague's newer assessment made this one stale.
    newer_assessment: Assessment | None = None

    def __init__(self, *args: Any, recommendation: Recommendation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        evidence = cast(forms.ModelMultipleChoiceField, self.fields["evidence"])
        evidence.queryset = recommendation.citable_evidence()


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    evidence = forms.ModelChoiceField(
        queryset=EvidenceItem.objects.none(),
        required=False,
        label="About evidence item (optional)",
    )

    def __init__(self, *args: Any, recommendation: Recommendation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        evidence = cast(forms.ModelChoiceField, self.fields["evidence"])
        evidence.queryset = recommendation.citable_evidence()


class PublishSnapshotForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        help_text="Readers see this title, e.g. “Status for the State Department call, March”.",
    )


class CompareSnapshotsForm(forms.Form):
    older = forms.ModelChoiceField(queryset=Snapshot.objects.none(), label="From")
    newer = forms.ModelChoiceField(queryset=Snapshot.objects.none(), label="To")

    def __init__(self, *args: Any, report: Report, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published = report.snapshots.listing()
        cast(forms.ModelChoiceField, self.fields["older"]).queryset = self.published
        cast(forms.ModelChoiceField, self.fields["newer"]).queryset = self.published

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        older, newer = cleaned.get("older"), cleaned.get("newer")
        if older and newer:
            if older.pk == newer.pk:
                raise forms.ValidationError("Pick two different snapshots.")
            if (older.published_at, older.pk) > (newer.published_at, newer.pk):
                cleaned["older"], cleaned["newer"] = newer, older  # always earlier → later
        return cleaned
