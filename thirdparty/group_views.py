"""Group site, Institutions > Apps: per current member school, the education apps it has
authorised and their scopes. Governance only: no personal data, and nothing a school's
staff could not tell its trust or local authority."""

from django.shortcuts import render

from accounts.permissions import INSTITUTION_DETAILS, Access
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .scopes import scope_labels
from .selectors import group_app_governance


class GroupAppsView(SitePageView):
    site_kind = SiteKind.GROUP
    method_permissions = {"GET": (INSTITUTION_DETAILS, Access.VIEW)}

    def get(self, request):
        rows = group_app_governance(group=request.site)
        for row in rows:
            for authorisation in row["authorisations"]:
                authorisation.scope_labels = scope_labels(authorisation.scopes)
        return render(
            request,
            "thirdparty/group/apps.html",
            {"rows": rows, "with_apps": sum(1 for row in rows if row["authorisations"])},
        )
