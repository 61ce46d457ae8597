"""The audit trail page."""

app_name = "audit"

urlpatterns: list = []
