"""Staff pages: list, profiles, roles, associations."""

app_name = "staff"

urlpatterns: list = []
