"""School site: Students and Attendance (mounted at the root of every site host; a group
site answers 404)."""

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
]
