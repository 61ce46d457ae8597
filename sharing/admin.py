"""Platform support's view of data sharing, and the automated-agreements admin action on
trusts (added to ``institutions.admin.InstitutionAdmin``)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.audit import actor_from_request
from institutions.models import InstitutionKind

from .models import AccessLevel, Agreement, AgreementRequest
from .services.agreements import agreements_automate


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = [
        "group",
        "school",
        "level",
        "automated",
        "approved_at",
        "ended_at",
        "end_reason",
    ]
    list_filter = ["level", "automated", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["group__name", "school__name", "school__urn"]
    list_select_related = ["group", "school"]

    def has_add_permission(self, request):  # set through requests or automation only
        return False  # and ended only when the school leaves (Group memberships' action)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AgreementRequest)
class AgreementRequestAdmin(admin.ModelAdmin):
    list_display = ["group", "school", "level", "status", "created_at", "decided_at"]
    list_filter = ["status", "level"]
    search_fields = ["group__name", "school__name", "school__urn"]
    list_select_related = ["group", "school"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _automate_action(level: AccessLevel):
    def action(modeladmin, request, queryset):
        actor = actor_from_request(request)
        for institution in queryset:
            if institution.kind != InstitutionKind.TRUST:
                modeladmin.message_user(
                    request,
                    f"{institution.name} is not a trust: automated agreements are for trusts.",
                    messages.WARNING,
                )
                continue
            try:
                changed = agreements_automate(trust=institution, level=level, actor=actor)
            except ValidationError as error:
                modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
                continue
            modeladmin.message_user(
                request,
                f"{institution.name}: {changed} schools set to “{level.label}” (none lowered, "
                "no emails sent).",
                messages.SUCCESS,
            )

    action.__name__ = f"automate_agreements_level_{level.value}"
    action.short_description = f"Automate data sharing agreements at “{level.label}”"
    action.allowed_permissions = ("change",)
    return action


AUTOMATE_ACTIONS = [_automate_action(level) for level in AccessLevel]
