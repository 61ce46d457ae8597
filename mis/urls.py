"""School site: Students, Attendance and the reads from outside the school (mounted at
the root of every site host; a group site answers 404)."""

from django.urls import path

from matmis.exports import export_urls

from . import views

app_name = "mis"

urlpatterns = [
    path("students/", views.StudentListView.as_view(), name="students"),
    *export_urls(views.StudentExportView, name="students-export", prefix="students/"),
    path("students/<int:pupil_id>/", views.PupilDetailView.as_view(), name="pupil"),
    path("attendance/", views.AttendanceView.as_view(), name="attendance"),
    *export_urls(views.AttendanceExportView, name="attendance-export", prefix="attendance/"),
    # Beside the audit trail (/audit/): the record of reads from outside the school.
    path("audit/outside-reads/", views.OutsideReadListView.as_view(), name="outside-reads"),
    *export_urls(
        views.OutsideReadExportView, name="outside-reads-export", prefix="audit/outside-reads/"
    ),
]
