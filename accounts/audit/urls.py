"""The audit trail page."""

from django.urls import path

from matmis.exports import export_urls

from . import views

app_name = "audit"

urlpatterns: list = [
    path("", views.AuditEventListView.as_view(), name="events"),
    *export_urls(views.AuditExportView, name="events-export"),
]
