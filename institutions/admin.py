from django.contrib import admin

from .models import GroupMembership, Institution


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
