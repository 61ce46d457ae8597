"""Group site: Institutions > Apps (mounted at /institutions/apps/)."""

from django.urls import path

from .group_views import GroupAppsView

app_name = "group_apps"

urlpatterns = [path("", GroupAppsView.as_view(), name="index")]
