from django.urls import path

from . import group_views, views

app_name = "networks"

urlpatterns = [
    path("resources/", views.ResourceListView.as_view(), name="resources"),
    path("resources/new/", views.ResourceCreateView.as_view(), name="resource-new"),
    path("resources/<str:resource_id>/", views.ResourceDetailView.as_view(), name="resource"),
    path(
        "resources/<str:resource_id>/edit/", views.ResourceEditView.as_view(), name="resource-edit"
    ),
    path(
        "resources/<str:resource_id>/replace/",
        views.ResourceReplaceView.as_view(),
        name="resource-replace",
    ),
    path(
        "resources/<str:resource_id>/delete/",
        views.ResourceDeleteView.as_view(),
        name="resource-delete",
    ),
    path(
        "resources/<str:resource_id>/share/",
        views.ResourceShareView.as_view(),
        name="resource-share",
    ),
    path(
        "resources/<str:resource_id>/shares/<str:share_id>/end/",
        views.ResourceUnshareView.as_view(),
        name="resource-unshare",
    ),
    path(
        "resources/<str:resource_id>/file/", views.ResourceFileView.as_view(), name="resource-file"
    ),
    path("networks/", views.NetworkListView.as_view(), name="networks"),
    path("networks/new/", views.NetworkRequestView.as_view(), name="network-new"),
    path(
        "networks/trust-schools/",
        views.NetworkTrustProposalView.as_view(),
        name="network-trust-schools",
    ),
    path("networks/<str:network_id>/", views.NetworkDetailView.as_view(), name="network"),
    path(
        "networks/<str:network_id>/approve/",
        views.NetworkApproveView.as_view(),
        name="network-approve",
    ),
    path(
        "networks/<str:network_id>/withdraw/",
        views.NetworkWithdrawView.as_view(),
        name="network-withdraw",
    ),
    path("groups/", group_views.GroupListView.as_view(), name="groups"),
    path("groups/<str:group_id>/", group_views.GroupDetailView.as_view(), name="group"),
    path(
        "groups/<str:group_id>/members/",
        group_views.GroupMemberAddView.as_view(),
        name="group-members",
    ),
    path(
        "groups/<str:group_id>/community/",
        group_views.GroupCommunityRequestView.as_view(),
        name="group-community",
    ),
    path(
        "groups/<str:group_id>/community/approve/",
        group_views.GroupCommunityApproveView.as_view(),
        name="group-community-approve",
    ),
    path(
        "groups/<str:group_id>/whitelist/",
        group_views.GroupWhitelistView.as_view(),
        name="group-whitelist",
    ),
]
