"""The development mail page, on the bare base domain (``portal.urls_platform``)."""

from django.urls import path

from . import views

app_name = "mail"

urlpatterns = [
    path("", views.mail_index, name="list"),
    path("<str:name>/", views.mail_detail, name="detail"),
]
