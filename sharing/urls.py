"""Group site: Institutions > Data Sharing Agreements."""

app_name = "sharing"

urlpatterns: list = []
