"""REST endpoints of data sharing (group side)."""

urlpatterns: list = []
