from django.apps import AppConfig


class MatmisConfig(AppConfig):
    name = "matmis"
    verbose_name = "matmis platform"
