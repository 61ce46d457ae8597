"""REST endpoints of a school's own records, under /api/v1/ in the ``api`` namespace."""

from django.urls import path

from . import api, register_api
from .ctf import api as ctf_api
from .transfers import api as transfer_api

urlpatterns = [
    path("pupils/", api.PupilListApiView.as_view(), name="pupils"),
    path("pupils/export/", api.PupilExportApiView.as_view(), name="pupils-export"),
    path("pupils/<int:pupil_id>/", api.PupilDetailApiView.as_view(), name="pupil"),
    path(
        "pupils/<int:pupil_id>/off-roll/",
        transfer_api.PupilOffRollApiView.as_view(),
        name="pupil-off-roll",
    ),
    path("arrivals/", transfer_api.ArrivalListApiView.as_view(), name="arrivals"),
    path("arrivals/<int:arrival_id>/", transfer_api.ArrivalApiView.as_view(), name="arrival"),
    path(
        "arrivals/<int:arrival_id>/accept/",
        transfer_api.ArrivalAcceptApiView.as_view(),
        name="arrival-accept",
    ),
    path(
        "arrivals/<int:arrival_id>/reject/",
        transfer_api.ArrivalRejectApiView.as_view(),
        name="arrival-reject",
    ),
    path("ctf/imports/", ctf_api.CtfImportListApiView.as_view(), name="ctf-imports"),
    path("ctf/imports/<int:import_id>/", ctf_api.CtfImportApiView.as_view(), name="ctf-import"),
    path(
        "ctf/imports/<int:import_id>/import/",
        ctf_api.CtfImportRunApiView.as_view(),
        name="ctf-import-run",
    ),
    path("ctf/export/", ctf_api.CtfExportApiView.as_view(), name="ctf-export"),
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
