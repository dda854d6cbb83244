"""Organizations, memberships and user accounts, with what only a superuser may change
(recommendations/rules/privileges.py)."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext, gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from .. import invitations
from ..accounts import passwords_off
from ..models import Invitation, Membership, Organization
from ..rules.privileges import (
    COUNTING_FIELDS,
    PRIVILEGE_FIELDS,
    has_taken_positions,
    may_change_account,
    may_give_membership,
)
from ..validators import refuse_control_characters
from ._shared import RefusedHistoryAdmin, signed_in


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "short_name", "kind", "member_count"]
    list_filter = ["kind"]
    search_fields = ["name", "short_name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    def get_readonly_fields(
        self, request: HttpRequest, obj: Organization | None = None
    ) -> list[str] | tuple[str, ...]:
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not signed_in(request).is_superuser and has_taken_positions(obj):
            return [*fields, *COUNTING_FIELDS]
        return fields

    @admin.display(description=gettext_lazy("members"), ordering="member_total")
    def member_count(self, organization: Organization) -> int:
        return organization.member_total


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization__kind", "organization"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "organization__name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "user" and not signed_in(request).is_superuser:
            kwargs["queryset"] = User.objects.filter(is_staff=False, is_superuser=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj.user):
            return False
        return super().has_delete_permission(request, obj)


class MembershipInline(admin.StackedInline):
    """On a user's page; a staff account's membership is the superuser's to give."""

    model = Membership
    can_delete = True
    extra = 0
    max_num = 1

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj):
            return False
        return super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj):
            return False
        return super().has_delete_permission(request, obj)


admin.site.unregister(User)


OWN_PASSWORDS_ONLY = gettext_lazy(
    "Nobody sets another person's password: people choose their own, from an invitation or "
    "with “Forgotten password” on the log-in page."
)


def address_taken(form: forms.ModelForm) -> str:
    """The form's e-mail address, refused when another account has it (in any case): an
    address is how a password reset and single sign-on find an account, so it is one
    account's."""
    address = form.cleaned_data.get("email") or ""
    others = User.objects.filter(email__iexact=address).exclude(pk=form.instance.pk)
    if address and others.exists():
        raise forms.ValidationError(gettext("Another account has this e-mail address."))
    return address


class AccountChangeForm(UserChangeForm):
    """Django's form, with names kept to one line (they go into mail headers), and the
    password explained rather than linked to a form for setting someone else's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name"):
            if name in self.fields:
                self.fields[name].validators.append(refuse_control_characters)
        if "password" in self.fields:
            self.fields["password"].help_text = OWN_PASSWORDS_ONLY

    def clean_email(self) -> str:
        return address_taken(self)


class AccountCreationForm(forms.ModelForm):
    """A new account without a password (its owner chooses one with “Forgotten password”);
    invitations are the usual way in."""

    class Meta:
        model = User
        fields = ["username", "email", "first_name", "last_name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["email"].help_text = OWN_PASSWORDS_ONLY

    def clean_email(self) -> str:
        return address_taken(self)

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.register(User)
class TrackerUserAdmin(UserAdmin):
    form = AccountChangeForm
    add_form = AccountCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "first_name", "last_name")}),
    )
    inlines = [MembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "organization"]
    list_select_related = ["membership__organization"]
    list_filter = [
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
        "membership__role",
        "membership__organization",
    ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: User | None = None
    ) -> list[str] | tuple[str, ...]:
        fields = super().get_readonly_fields(request, obj)
        actor = signed_in(request)
        if actor.is_superuser:
            return fields
        fields = [*fields, *PRIVILEGE_FIELDS, "groups", "user_permissions"]
        if obj is not None and obj.pk == actor.pk:
            fields.append("is_active")
        return fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The membership form's user picker offers only the accounts a membership may go to.
        picking_a_member = request.GET.get("model_name") == "membership"
        if picking_a_member and not signed_in(request).is_superuser:
            queryset = queryset.filter(is_staff=False, is_superuser=False)
        return queryset, may_have_duplicates

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Only one's own: nobody, a superuser neither, sets another person's password; and
        nobody's when passwords are switched off (single sign-on only)."""
        if not settings.LOCAL_PASSWORDS:
            return passwords_off(request)
        if str(signed_in(request).pk) != str(id):
            raise PermissionDenied(str(OWN_PASSWORDS_ONLY))
        return super().user_change_password(request, id, form_url)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """Another staff account is the superuser's to change (its password too: Django's
        password form asks this)."""
        if obj is not None and not may_change_account(signed_in(request), obj):
            return False
        return super().has_change_permission(request, obj)

    @admin.display(
        description=gettext_lazy("organization"), ordering="membership__organization__name"
    )
    def organization(self, user: User) -> str:
        membership = getattr(user, "membership", None)
        return f"{membership.organization} ({membership.get_role_display()})" if membership else "—"


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["email", "organization", "role", "language"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                gettext("An account already has this address: give it a membership instead.")
            )
        waiting = Invitation.objects.filter(email__iexact=email, accepted_at=None, revoked_at=None)
        if any(invitation.state == Invitation.State.PENDING for invitation in waiting):
            raise forms.ValidationError(
                gettext("This address has an invitation waiting: resend it from the list.")
            )
        return email


@admin.register(Invitation)
class InvitationAdmin(RefusedHistoryAdmin):
    """Coordinators invite people (recommendations/invitations.py): saving a new invitation
    mails it; the list resends and revokes. An invitation is never edited: its state is what
    happened to it."""

    form = InvitationForm
    list_display = ["email", "organization", "role", "state_label", "sent_at", "invited_by"]
    list_filter = ["organization", "role"]
    search_fields = ["email"]
    list_select_related = ["organization", "invited_by"]
    readonly_fields = [
        "invited_by",
        "created_at",
        "sent_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]
    actions = ["resend", "revoke"]

    class Media:
        css = {"all": ["admin/tracker-admin.css"]}  # filter links large enough to tap

    @admin.display(description=gettext_lazy("state"))
    def state_label(self, invitation: Invitation) -> str:
        return str(invitation.state.label)

    def get_readonly_fields(self, request: HttpRequest, obj: Invitation | None = None) -> list[str]:
        if obj is None:
            return []
        return ["email", "organization", "role", "language", *self.readonly_fields]

    def get_fields(self, request: HttpRequest, obj: Invitation | None = None) -> list[str]:
        if obj is None:
            return ["email", "organization", "role", "language"]
        return ["email", "organization", "role", "language", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        if change:
            return  # nothing of an invitation is edited
        obj.invited_by = signed_in(request)
        obj.save()
        invitations.send(obj)
        self.message_user(request, gettext("Invitation sent to %(email)s.") % {"email": obj.email})

    @admin.action(
        description=gettext_lazy("Send the selected invitations again"), permissions=["change"]
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        sent = 0
        for invitation in queryset:
            if invitation.state in (Invitation.State.PENDING, Invitation.State.EXPIRED):
                try:
                    invitations.send(invitation)
                except ValidationError as refused:  # another one to the address is waiting
                    self.message_user(
                        request, f"{invitation.email}: {refused.messages[0]}", messages.WARNING
                    )
                    continue
                sent += 1
        self.message_user(
            request,
            gettext("%(sent)s sent again; accepted and revoked ones are left as they are.")
            % {"sent": sent},
        )

    @admin.action(
        description=gettext_lazy("Revoke the selected invitations"), permissions=["change"]
    )
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        revoked = 0
        for invitation in queryset:
            if invitation.state != Invitation.State.ACCEPTED:
                invitations.revoke(invitation)
                revoked += 1
        self.message_user(
            request,
            gettext("%(revoked)s revoked; accepted ones are left (deactivate the account).")
            % {"revoked": revoked},
        )
