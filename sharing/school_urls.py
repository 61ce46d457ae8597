"""School site: Data > Data Sharing."""

app_name = "school_sharing"

urlpatterns: list = []
