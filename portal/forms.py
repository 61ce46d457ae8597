"""Forms of the pages the roof composes: the bare domain's site list."""

from django import forms

from institutions.models import InstitutionKind
from institutions.selectors import SITE_KIND_ORDER

SITE_KIND_PLURALS = {
    InstitutionKind.TRUST: "Trusts",
    InstitutionKind.LOCAL_AUTHORITY: "Local authorities",
    InstitutionKind.SCHOOL: "Schools",
}


class SiteDirectoryForm(forms.Form):
    """The site list's search: words of a site's name or address, and one kind of site."""

    q = forms.CharField(
        label="Search sites",
        required=False,
        max_length=100,
        error_messages={"max_length": "Enter at most 100 characters to search for"},
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "All"), *((kind.value, SITE_KIND_PLURALS[kind]) for kind in SITE_KIND_ORDER)],
        error_messages={"invalid_choice": "Choose trusts, local authorities or schools"},
    )

    def search(self) -> str:
        return self.cleaned_data.get("q", "") if self.is_valid() else ""

    def kind_filter(self) -> str:
        return self.cleaned_data.get("kind", "") if self.is_valid() else ""
