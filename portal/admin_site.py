"""The support admin (``/support/`` on the platform's bare domain) behind the same door as
every other page of the platform.

It has no sign-in of its own: its login page only sends people to the platform's sign-in
(``/sign-in/``, with lock-out and two-factor sign-in), and a request gets in only when the
kernel's site check lets it (``matmis.site_access``: platform staff, past two-factor
sign-in, which the platform requires of all its staff) and django-otp's admin check agrees
(an active staff member whose session is verified with a device). Signing out is the
platform's own, audited sign-out.

``SupportAdminConfig`` (``portal.apps``) makes this the class of ``admin.site``, where every
app registers its models.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.admin import OTPAdminSite

from accounts.identity.views import SignOutView
from matmis.site_access import Outcome, SiteKind, Verdict, site_request_verdict
from matmis.views import refusal_page

PLATFORM_ONLY = frozenset({SiteKind.PLATFORM})


class SupportAdminSite(OTPAdminSite):
    site_header = "matmis platform support"
    site_title = "matmis support"
    index_title = "Support"

    def __init__(self, name: str = "admin"):
        super().__init__(name)  # django-otp's own default is "otpadmin"

    @staticmethod
    def site_verdict(request: HttpRequest) -> Verdict:
        return site_request_verdict(request, kinds=PLATFORM_ONLY, requirement=None)

    def has_permission(self, request: HttpRequest) -> bool:
        """django-otp's check (active staff, verified session) and the site check, both."""
        return super().has_permission(request) and self.site_verdict(request).allowed

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Not a sign-in: whatever is posted here is never checked. Whoever may use the
        admin goes on to the page asked for; anyone else gets the site check's answer, as
        on every page: the platform's sign-in (coming back here after it), two-factor set
        up, or the 404 page."""
        next_url = self._next_url(request)
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        verdict = self.site_verdict(request)
        if verdict.allowed:  # let in by the site check but not by django-otp: never loop
            verdict = Verdict(Outcome.NO_ACCESS)
        return refusal_page(request, verdict, next_url=next_url)

    def logout(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return SignOutView.as_view()(request)

    def _next_url(self, request: HttpRequest) -> str:
        wanted = request.GET.get("next", "")
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return wanted
        return reverse("admin:index", current_app=self.name)
