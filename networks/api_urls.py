"""REST endpoints of staff sharing (under /api/v1/, in the ``api`` namespace)."""

from django.urls import path

from . import api

urlpatterns = [
    path("resources/", api.ResourceListApiView.as_view(), name="resources"),
    path("resources/shared-with-me/", api.SharedWithMeApiView.as_view(), name="resources-shared"),
    path("resources/<str:resource_id>/", api.ResourceDetailApiView.as_view(), name="resource"),
    path(
        "resources/<str:resource_id>/file/", api.ResourceFileApiView.as_view(), name="resource-file"
    ),
    path(
        "resources/<str:resource_id>/shares/",
        api.ResourceSharesApiView.as_view(),
        name="resource-shares",
    ),
    path(
        "resources/<str:resource_id>/shares/<str:share_id>/",
        api.ResourceShareApiView.as_view(),
        name="resource-share",
    ),
    path("share-targets/", api.ShareTargetsApiView.as_view(), name="share-targets"),
    path("networks/", api.NetworkListApiView.as_view(), name="networks"),
    path(
        "networks/trust-schools/",
        api.NetworkTrustProposalApiView.as_view(),
        name="networks-trust-schools",
    ),
    path("networks/<str:network_id>/", api.NetworkDetailApiView.as_view(), name="network"),
    path(
        "networks/<str:network_id>/approval/",
        api.NetworkApprovalApiView.as_view(),
        name="network-approval",
    ),
    path(
        "networks/<str:network_id>/withdrawal/",
        api.NetworkWithdrawalApiView.as_view(),
        name="network-withdrawal",
    ),
    path("groups/", api.GroupListApiView.as_view(), name="groups"),
    path("groups/<str:group_id>/", api.GroupDetailApiView.as_view(), name="group"),
    path("groups/<str:group_id>/members/", api.GroupMembersApiView.as_view(), name="group-members"),
    path(
        "groups/<str:group_id>/community/",
        api.GroupCommunityApiView.as_view(),
        name="group-community",
    ),
    path(
        "groups/<str:group_id>/community/approval/",
        api.GroupCommunityApprovalApiView.as_view(),
        name="group-community-approval",
    ),
    path(
        "groups/<str:group_id>/whitelist/",
        api.GroupWhitelistApiView.as_view(),
        name="group-whitelist",
    ),
]
