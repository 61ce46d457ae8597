"""Group site: Institutions > Data Sharing Agreements (mounted at /data-sharing/ on every
site host; a school site answers 404)."""

from django.urls import path

from matmis.exports import export_urls

from . import views

app_name = "sharing"

urlpatterns = [
    path("", views.AgreementsView.as_view(), name="agreements"),
    *export_urls(views.AgreementsExportView, name="agreements-export"),
    path("send/", views.SendView.as_view(), name="send"),
    path("send/preview/", views.SendPreviewView.as_view(), name="send-preview"),
    path("send/people/", views.SendPeopleView.as_view(), name="send-people"),
    path("remind/", views.RemindView.as_view(), name="remind"),
    path("withdraw/", views.WithdrawView.as_view(), name="withdraw"),
    path("result/", views.ResultView.as_view(), name="result"),
    path("ended/", views.EndedAgreementsView.as_view(), name="ended"),
]
