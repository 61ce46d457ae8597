from django.contrib import admin, messages

from accounts.audit import actor_from_request

from .models import GroupMembership, Institution
from .services import membership_end


class MembershipInline(admin.TabularInline):
    model = GroupMembership
    fk_name = "group"
    extra = 0
    autocomplete_fields = ["school"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "slug"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.action(
    description="End the selected memberships today (the school leaves the group)",
    permissions=["change"],
)
def end_memberships(modeladmin, request, queryset):
    """A school leaves a trust or local authority through ``services.membership_end``, so
    that what depends on the membership ends with it (its data sharing agreement with the
    group ends and pending requests are withdrawn), audited, in one transaction."""
    ended = membership_end(memberships=queryset, actor=actor_from_request(request))
    if ended:
        modeladmin.message_user(
            request,
            f"{ended} membership{'s' if ended != 1 else ''} ended. Each group’s data sharing "
            "agreement with the school ended with it and its pending requests were withdrawn.",
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request, "Nothing changed: the selected memberships had already ended.", messages.INFO
        )


@admin.register(GroupMembership)
class GroupMembershipAdmin(admin.ModelAdmin):
    """Memberships as the register gives them. Support ends one with the action (never by
    editing the date: the end of a membership has consequences, see ``membership_end``)."""

    list_display = ["school", "group", "joined_on", "left_on"]
    list_filter = [("left_on", admin.EmptyFieldListFilter), "group__kind"]
    search_fields = ["school__name", "school__urn", "group__name", "group__group_code"]
    list_select_related = ["school", "group"]
    readonly_fields = ["group", "school", "joined_on", "left_on"]
    actions = [end_memberships]

    def has_add_permission(self, request):  # memberships start through the register
        return False

    def has_delete_permission(self, request, obj=None):
        return False
