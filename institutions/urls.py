"""Pages of a group site about its schools, under /institutions/."""

from django.urls import path, re_path

from . import views

app_name = "institutions"

urlpatterns = [
    path("", views.BrowseView.as_view(), name="browse"),
    path("clusters/", views.ClusterListView.as_view(), name="clusters"),
    path("clusters/new/", views.ClusterCreateView.as_view(), name="cluster-create"),
    path("clusters/<int:cluster_id>/", views.ClusterDetailView.as_view(), name="cluster"),
    path(
        "clusters/<int:cluster_id>/rename/",
        views.ClusterRenameView.as_view(),
        name="cluster-rename",
    ),
    path(
        "clusters/<int:cluster_id>/schools/",
        views.ClusterSchoolsView.as_view(),
        name="cluster-schools",
    ),
    path(
        "clusters/<int:cluster_id>/delete/",
        views.ClusterDeleteView.as_view(),
        name="cluster-delete",
    ),
    re_path(r"^(?P<urn>[0-9]{6})/$", views.InstitutionDetailView.as_view(), name="detail"),
]
