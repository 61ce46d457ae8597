"""A site URLconf with the school's Data Sharing pages mounted elsewhere: the request
emails must follow the route (tests/sharing/test_emails.py)."""

from django.urls import include, path

urlpatterns = [path("elsewhere/sharing/", include("sharing.school.urls"))]
