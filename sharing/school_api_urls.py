"""REST endpoints of data sharing (school side)."""

urlpatterns: list = []
