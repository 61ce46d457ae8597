"""REST endpoints of the audit trail (no namespace of their own: the roof mounts them in
``api``)."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("audit-events/", api.AuditEventListView.as_view(), name="audit-events"),
    path("audit-events/export/", api.AuditEventExportView.as_view(), name="audit-events-export"),
]
