"""The privacy notice and the accessibility statement: on every host (a group's site, a
school's, the platform's bare domain), for anyone, signed in or not, and linked from every
page's footer. What they say about the site is the host's: its name as the controller of
the personal data it holds here."""

import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.identity.sign_in import FAILURE_RETENTION
from matmis.site_access import EVERY_HOST
from matmis.views import SitePageView

# When the statement was last reviewed: the date it names, changed with its content.
ACCESSIBILITY_REVIEWED = datetime.date(2026, 12, 7)
PRIVACY_REVIEWED = datetime.date(2026, 12, 7)


class StatementPageView(SitePageView):
    """A page anyone may read on any host: it holds no one's data."""

    site_kind = EVERY_HOST
    public = True
    method_permissions = {"GET": None}
    template_name = ""

    def context(self, request: HttpRequest) -> dict:
        return {}

    def get(self, request: HttpRequest) -> HttpResponse:
        site = getattr(request, "site", None)
        context = {
            "site": site,
            "support_email": settings.SUPPORT_EMAIL,
            **self.context(request),
        }
        return render(request, self.template_name, context)


def _hours(delta: datetime.timedelta) -> int:
    return int(delta.total_seconds() // 3600)


class PrivacyNoticeView(StatementPageView):
    template_name = "portal/privacy.html"

    def context(self, request: HttpRequest) -> dict:
        return {
            "reviewed": PRIVACY_REVIEWED,
            "session_hours": _hours(datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)),
            "sign_in_failure_hours": _hours(FAILURE_RETENTION),
            "audit_retention_days": settings.MATMIS_AUDIT_RETENTION_DAYS,
            "audit_retention_years": settings.MATMIS_AUDIT_RETENTION_DAYS // 365,
            "delivery_retention_days": settings.MATMIS_DELIVERY_RETENTION_DAYS,
        }


class AccessibilityStatementView(StatementPageView):
    template_name = "portal/accessibility.html"

    def context(self, request: HttpRequest) -> dict:
        return {"reviewed": ACCESSIBILITY_REVIEWED}
