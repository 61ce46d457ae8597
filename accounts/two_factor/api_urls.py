"""REST endpoint of the site's sign-in with Microsoft or Google (mounted in ``api``)."""

from django.urls import path

from . import api

urlpatterns: list = [
    path(
        "security/sign-in-provider/",
        api.SignInProviderApiView.as_view(),
        name="security-sign-in-provider",
    ),
]
