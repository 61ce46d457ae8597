"""Signing in and out and password reset, under /accounts/ in the ``accounts`` namespace
(``accounts.urls`` adds them there)."""

from django.urls import path

from . import views

urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-in/code/", views.SignInCodeView.as_view(), name="sign-in-code"),
    path("sign-in/provider/", views.ProviderSignInStartView.as_view(), name="sign-in-provider"),
    path(
        "sign-in/provider/finish/",
        views.ProviderSignInFinishView.as_view(),
        name="sign-in-provider-finish",
    ),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
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
