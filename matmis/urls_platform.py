"""URLs of the bare base domain: the site chooser and the support admin."""

from django.contrib import admin
from django.urls import path

from . import views

admin.site.site_header = "matmis platform support"
admin.site.site_title = "matmis support"

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("support/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
]

handler404 = "matmis.views.page_not_found"
handler500 = "matmis.views.server_error"
