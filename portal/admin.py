"""The support admin's institution page with the actions of the apps above the register:
automated data sharing agreements for trusts (``sharing.admin``)."""

from django.contrib import admin

from institutions.admin import InstitutionAdmin
from institutions.models import Institution
from sharing.admin import AUTOMATE_ACTIONS


class InstitutionWithSharingAdmin(InstitutionAdmin):
    actions = [*InstitutionAdmin.actions, *AUTOMATE_ACTIONS]


admin.site.unregister(Institution)
admin.site.register(Institution, InstitutionWithSharingAdmin)
