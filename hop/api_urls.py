"""REST endpoints of Log in to MIS (under /api/v1/, in the ``api`` namespace)."""

from django.urls import path

from . import api

urlpatterns = [
    path("hop/targets/", api.HopTargetsApiView.as_view(), name="hop-targets"),
    path("hop/schools/", api.HopSchoolsApiView.as_view(), name="hop-schools"),
    path("hop/", api.HopStartApiView.as_view(), name="hop-start"),
    path("hop/redeem/", api.HopRedeemApiView.as_view(), name="hop-redeem"),
]
