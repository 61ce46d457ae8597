"""The app API's endpoints at their real paths, for its own OpenAPI schema only."""

from django.urls import include, path

from .app_api_urls import api_patterns

urlpatterns = [path("api/apps/v1/", include((api_patterns, "apps_api")))]
