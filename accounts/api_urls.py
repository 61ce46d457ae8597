"""REST endpoints of accounts: staff, roles, associations, the hop."""

urlpatterns: list = []
