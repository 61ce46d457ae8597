from django.urls import path

from . import hop_views

app_name = "hop"

urlpatterns = [
    path("log-in-to-mis/", hop_views.HopChooseView.as_view(), name="choose"),
    path("hop/", hop_views.HopRedeemView.as_view(), name="redeem"),
]
