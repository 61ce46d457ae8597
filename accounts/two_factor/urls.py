"""Two-factor sign-in pages and the site's security settings, under /accounts/ in the
``accounts`` namespace (``accounts.urls`` adds them there)."""

from django.urls import path

from . import views

urlpatterns = [
    path("two-factor/", views.TwoFactorView.as_view(), name="two-factor"),
    path("two-factor/qr-code.svg", views.TwoFactorQrCodeView.as_view(), name="two-factor-qr"),
    path(
        "two-factor/backup-codes/",
        views.BackupCodesView.as_view(),
        name="two-factor-backup-codes",
    ),
    path("two-factor/turn-off/", views.TwoFactorRemoveView.as_view(), name="two-factor-remove"),
    path("security/", views.SecurityPolicyView.as_view(), name="security"),
    path(
        "security/sign-in-provider/",
        views.SignInProviderView.as_view(),
        name="security-sign-in-provider",
    ),
]
