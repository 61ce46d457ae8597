"""The audit trail page."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns: list = [
    path("", views.AuditEventListView.as_view(), name="events"),
]
