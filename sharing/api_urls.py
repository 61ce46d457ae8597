"""REST endpoints of data sharing (group side), under /api/v1/ in the ``api`` namespace."""

from django.urls import path

from . import api

urlpatterns = [
    path("agreements/", api.AgreementListView.as_view(), name="agreements-list"),
    path("agreements/ended/", api.EndedAgreementListView.as_view(), name="agreements-ended"),
    path("agreements/export/", api.AgreementExportView.as_view(), name="agreements-export"),
    path(
        "agreements/requests/",
        api.AgreementRequestSendView.as_view(),
        name="agreements-requests-send",
    ),
    path(
        "agreements/requests/preview/",
        api.AgreementRequestPreviewView.as_view(),
        name="agreements-requests-preview",
    ),
    path(
        "agreements/requests/recipients/",
        api.AgreementRecipientLookupView.as_view(),
        name="agreements-requests-recipients",
    ),
    path(
        "agreements/requests/remind/",
        api.AgreementRequestRemindView.as_view(),
        name="agreements-requests-remind",
    ),
    path(
        "agreements/requests/withdraw/",
        api.AgreementRequestWithdrawView.as_view(),
        name="agreements-requests-withdraw",
    ),
]
