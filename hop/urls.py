from django.urls import path

from . import views

app_name = "hop"

urlpatterns = [
    path("log-in-to-mis/", views.HopChooseView.as_view(), name="choose"),
    path("hop/", views.HopRedeemView.as_view(), name="redeem"),
    path("hop/return/", views.HopReturnView.as_view(), name="return"),
    path("hop/continue/", views.HopContinueView.as_view(), name="continue"),
]
