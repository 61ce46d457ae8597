"""Every form of the project says what is missing in its own words: no required field of
any form falls back to Django's "This field is required."."""

import importlib
import inspect
import pkgutil

import pytest
from django import forms

PROJECT_APPS = (
    "accounts",
    "analytics",
    "hop",
    "institutions",
    "matmis",
    "mis",
    "portal",
    "sharing",
)
DJANGO_REQUIRED = str(forms.Field.default_error_messages["required"])


def _project_forms() -> list[type[forms.BaseForm]]:
    found = {}
    for app in PROJECT_APPS:
        package = importlib.import_module(app)
        for module_info in pkgutil.walk_packages(package.__path__, f"{app}."):
            name = module_info.name
            if ".migrations" in name or ".management" in name or ".settings" in name:
                continue
            module = importlib.import_module(name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, forms.BaseForm) and cls.__module__ == name:
                    found[f"{name}.{cls.__name__}"] = cls
    return [found[key] for key in sorted(found)]


def test_the_project_has_forms_to_check():
    names = {cls.__name__ for cls in _project_forms()}
    assert {"SignInForm", "ClusterNameForm", "SendForm", "SignInCodeForm", "HopChooseForm"} <= names


@pytest.mark.parametrize("form_class", _project_forms(), ids=lambda cls: cls.__name__)
def test_every_required_field_has_its_own_message(form_class):
    generic = [
        name
        for name, field in form_class.base_fields.items()
        if field.required and str(field.error_messages.get("required")) == DJANGO_REQUIRED
    ]
    assert generic == [], f"{form_class.__name__}: {generic} say “This field is required.”"
