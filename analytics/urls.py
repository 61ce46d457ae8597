"""Pages of a group site's Analytics, under /analytics/."""

from django.urls import path, re_path

from matmis.exports import export_urls

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    *export_urls(views.ExportView, name="dashboard-export"),
    re_path(r"^schools/(?P<urn>[0-9]{6})/$", views.SchoolView.as_view(), name="school"),
    path("published/", views.PublishedView.as_view(), name="published"),
    *export_urls(views.PublishedExportView, name="published-export", prefix="published/"),
]
