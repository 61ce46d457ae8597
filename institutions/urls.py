"""Cluster pages of a group site, under /institutions/. Browse Institutions and the
institution page compose several apps: the roof adds them to this namespace
(``portal.urls``)."""

from django.urls import path

from . import views

urlpatterns = [
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
]
