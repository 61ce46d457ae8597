"""School site: Students, Attendance and the reads from outside the school (mounted at
the root of every site host; a group site answers 404)."""

from django.urls import path

from matmis.exports import export_urls

from . import register_views, roll_views, views
from .ctf import views as ctf_views
from .transfers import views as transfer_views

app_name = "mis"

urlpatterns = [
    path("students/", views.StudentListView.as_view(), name="students"),
    *export_urls(views.StudentExportView, name="students-export", prefix="students/"),
    path("students/new/", roll_views.PupilAddView.as_view(), name="pupil-add"),
    path("students/<int:pupil_id>/", views.PupilDetailView.as_view(), name="pupil"),
    path(
        "students/<int:pupil_id>/off-roll/",
        transfer_views.PupilOffRollView.as_view(),
        name="pupil-off-roll",
    ),
    path("students/arrivals/", transfer_views.ArrivalListView.as_view(), name="arrivals"),
    path(
        "students/arrivals/<int:arrival_id>/",
        transfer_views.ArrivalView.as_view(),
        name="arrival",
    ),
    path("students/ctf/", ctf_views.CtfImportListView.as_view(), name="ctf-imports"),
    path("students/ctf/export/", ctf_views.CtfExportView.as_view(), name="ctf-export"),
    path("students/ctf/<int:import_id>/", ctf_views.CtfImportView.as_view(), name="ctf-import"),
    path("students/<int:pupil_id>/edit/", roll_views.PupilEditView.as_view(), name="pupil-edit"),
    path(
        "students/<int:pupil_id>/readmit/",
        roll_views.PupilReadmitView.as_view(),
        name="pupil-readmit",
    ),
    path(
        "registration-groups/",
        register_views.RegistrationGroupsView.as_view(),
        name="registration-groups",
    ),
    path(
        "registration-groups/<int:group_id>/",
        register_views.RegistrationGroupView.as_view(),
        name="registration-group",
    ),
    path("registers/", register_views.RegistersView.as_view(), name="registers"),
    path(
        "registers/settings/",
        register_views.RegisterSettingsView.as_view(),
        name="register-settings",
    ),
    path("registers/<int:group_id>/", register_views.RegisterView.as_view(), name="register"),
    path("attendance/", views.AttendanceView.as_view(), name="attendance"),
    *export_urls(views.AttendanceExportView, name="attendance-export", prefix="attendance/"),
    # Beside the audit trail (/audit/): the record of reads from outside the school.
    path("audit/outside-reads/", views.OutsideReadListView.as_view(), name="outside-reads"),
    *export_urls(
        views.OutsideReadExportView, name="outside-reads-export", prefix="audit/outside-reads/"
    ),
]
