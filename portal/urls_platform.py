"""URLs of the bare base domain: the site chooser, the platform sign-in, the register
imports and the support admin."""

from django.contrib import admin
from django.urls import include, path

from accounts import urls as accounts_urls
from accounts.identity.views import ProviderCallbackView, SignInView
from institutions import platform_views
from matmis.views import healthz, readyz

from . import metrics, statements, views

# Named like the sites' own sign-in pages ("accounts:sign-in"), so LOGIN_URL works here too:
# the same views, with the platform's sign-in template and landing page. The other steps of
# signing in (the two-factor code) and setting up two-factor sign-in, which the platform
# requires of all its staff, come from accounts' own URLs. Only platform staff can sign in
# on the bare domain (SiteStaffBackend). The support admin has no sign-in of its own: its
# login page sends people here (``portal.admin_site``).
_SIGN_IN_STEPS = {
    "sign-in-code",
    "sign-out",
    "two-factor",
    "two-factor-qr",
    "two-factor-backup-codes",
    "two-factor-remove",
}
platform_accounts_urls = (
    [
        path(
            "sign-in/",
            SignInView.as_view(
                template_name="institutions/platform/sign_in.html", next_page="register-imports"
            ),
            name="sign-in",
        ),
        *(p for p in accounts_urls.urlpatterns if p.name in _SIGN_IN_STEPS),
        # The one redirect URI of sign-in with Microsoft or Google, for every site.
        path(
            "sign-in/provider/callback/",
            ProviderCallbackView.as_view(),
            name="sign-in-provider-callback",
        ),
    ],
    "accounts",
)

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("", include(platform_accounts_urls)),
    path(
        "imports/",
        platform_views.RegisterImportListView.as_view(),
        name="register-imports",
    ),
    path(
        "imports/<int:pk>/",
        platform_views.RegisterImportDetailView.as_view(),
        name="register-import",
    ),
    path("support/", admin.site.urls),
    path("api/apps/v1/", include("thirdparty.app_api_urls")),
    path("mail/", include("notifications.urls")),  # development only (404 in production)
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("privacy/", statements.PrivacyNoticeView.as_view(), name="privacy-notice"),
    path(
        "accessibility/",
        statements.AccessibilityStatementView.as_view(),
        name="accessibility-statement",
    ),
]

handler400 = "matmis.views.bad_request"
handler404 = "matmis.views.page_not_found"
handler500 = "matmis.views.server_error"
