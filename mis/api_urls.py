"""REST endpoints of a school's own records, under /api/v1/ in the ``api`` namespace."""

from django.urls import path

from . import api, register_api

urlpatterns = [
    path("pupils/", api.PupilListApiView.as_view(), name="pupils"),
    path("pupils/export/", api.PupilExportApiView.as_view(), name="pupils-export"),
    path("pupils/<int:pupil_id>/", api.PupilDetailApiView.as_view(), name="pupil"),
    path(
        "pupils/<int:pupil_id>/readmit/",
        register_api.PupilReadmitApiView.as_view(),
        name="pupil-readmit",
    ),
    path(
        "registration-groups/",
        register_api.RegistrationGroupListApiView.as_view(),
        name="registration-groups",
    ),
    path(
        "registration-groups/<int:group_id>/",
        register_api.RegistrationGroupDetailApiView.as_view(),
        name="registration-group",
    ),
    path(
        "registers/settings/",
        register_api.RegisterSettingsApiView.as_view(),
        name="register-settings",
    ),
    path("registers/<int:group_id>/", register_api.RegisterApiView.as_view(), name="register"),
    path("attendance/today/", api.AttendanceDayApiView.as_view(), name="attendance-today"),
    path("attendance/export/", api.AttendanceExportApiView.as_view(), name="attendance-export"),
    path("outside-reads/", api.OutsideReadListApiView.as_view(), name="outside-reads"),
    path(
        "outside-reads/export/",
        api.OutsideReadExportApiView.as_view(),
        name="outside-reads-export",
    ),
]
