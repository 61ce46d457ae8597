from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-in/code/", views.SignInCodeView.as_view(), name="sign-in-code"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("two-factor/", views.TwoFactorView.as_view(), name="two-factor"),
    path("two-factor/qr-code.svg", views.TwoFactorQrCodeView.as_view(), name="two-factor-qr"),
    path(
        "two-factor/backup-codes/",
        views.BackupCodesView.as_view(),
        name="two-factor-backup-codes",
    ),
    path("two-factor/turn-off/", views.TwoFactorRemoveView.as_view(), name="two-factor-remove"),
    path("security/", views.SecurityPolicyView.as_view(), name="security"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "password-reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
]
