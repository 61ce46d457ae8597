"""/accounts/: signing in and out and password reset (``accounts.identity``), two-factor
sign-in and the site's security settings (``accounts.two_factor``), in one namespace."""

from django.urls import path

from accounts.identity import urls as identity_urls
from accounts.staff.onboarding_views import InvitationAcceptView
from accounts.two_factor import urls as two_factor_urls

app_name = "accounts"

urlpatterns = [
    *identity_urls.urlpatterns,
    *two_factor_urls.urlpatterns,
    # The invitation's emailed link (staff onboarding): public, checked by its token.
    path("invitation/<str:token>/", InvitationAcceptView.as_view(), name="invitation-accept"),
]
