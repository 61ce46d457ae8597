"""Forms of the business roles pages: they parse what was sent; the rules live in
``accounts.roles.services``."""

from django import forms

from accounts.permissions import Access

from .selectors import GrantLine
from .services import ACCESS_WORDS, NAME_MAX_LENGTH

ACCESS_CHOICES = [(ACCESS_WORDS[access], access.label) for access in Access]
URL_MAX = 2000


class RoleNameForm(forms.Form):
    # The service cleans and checks the name (empty, too long, taken), one rule for page
    # and API; the form only keeps an absurd length out.
    name = forms.CharField(
        label="Name of the role",
        required=False,
        max_length=NAME_MAX_LENGTH * 4,
        strip=False,
        error_messages={
            "max_length": f"A role’s name can be at most {NAME_MAX_LENGTH} characters."
        },
    )


def grant_field_name(code: str, *, in_school: bool) -> str:
    return f"{'school' if in_school else 'grant'}:{code}"


class RoleGrantsForm(forms.Form):
    """Off / View / Administer for each permission ``lines`` lists (the levels the registry
    allows), for one scope of a role: at its site, or its in-school set."""

    def __init__(self, data=None, *, lines: list[GrantLine], in_school: bool):
        super().__init__(data)
        self.lines = lines
        self.in_school = in_school
        for line in lines:
            self.fields[grant_field_name(line.code, in_school=in_school)] = forms.ChoiceField(
                label=line.definition.label,
                choices=[(ACCESS_WORDS[level], level.label) for level in line.levels],
                initial=ACCESS_WORDS[line.access],
                error_messages={
                    "required": f"Choose Off, View or Administer for “{line.definition.label}”.",
                    "invalid_choice": f"Choose one of the levels offered for "
                    f"“{line.definition.label}”.",
                },
            )

    def levels(self) -> dict[str, str]:
        return {
            line.code: self.cleaned_data[grant_field_name(line.code, in_school=self.in_school)]
            for line in self.lines
        }


class AccessCheckForm(forms.Form):
    url = forms.CharField(
        label="Address of the page",
        max_length=URL_MAX,
        error_messages={
            "required": "Paste the address of a page of this site.",
            "max_length": f"An address can be at most {URL_MAX} characters.",
        },
    )
    person = forms.TypedChoiceField(
        label="Person",
        coerce=int,
        error_messages={
            "required": "Choose the person to check.",
            "invalid_choice": "Choose one of this site’s staff.",
        },
    )

    def __init__(self, data=None, *, people):
        super().__init__(data)
        self.people = {profile.pk: profile for profile in people}
        self.fields["person"].choices = [("", "Choose a person")] + [
            (profile.pk, f"{profile.user.display_name} ({profile.user.email})")
            for profile in self.people.values()
        ]

    def profile(self):
        return self.people[self.cleaned_data["person"]]
