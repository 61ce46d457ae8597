"""The audit trail page."""

from django.urls import path

from . import audit_views

app_name = "audit"

urlpatterns: list = [
    path("", audit_views.AuditEventListView.as_view(), name="events"),
]
