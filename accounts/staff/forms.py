"""Forms of the staff pages: they parse and check what a person sent; the rules about roles
and associations live in ``accounts.staff.services``."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django import forms

from accounts.models import BusinessRole
from institutions.models import Cluster, Institution
from institutions.selectors import URN_PATTERN, current_schools

from .services import not_the_groups_clusters, not_the_groups_schools

SEARCH_MAX = 100


class StaffSearchForm(forms.Form):
    q = forms.CharField(
        label="Search staff",
        required=False,
        max_length=SEARCH_MAX,
        error_messages={"max_length": f"Search for {SEARCH_MAX} characters or fewer."},
    )

    def search(self) -> str:
        """The search to run (empty when there is none or it was not valid)."""
        return self.cleaned_data.get("q", "") if self.is_valid() else ""


@dataclass(frozen=True)
class RoleRow:
    """One role on the Assign roles page: its checkbox and its two dates."""

    role: BusinessRole
    held: forms.BoundField
    starts_on: forms.BoundField
    ends_on: forms.BoundField


class RoleAssignmentsForm(forms.Form):
    """A checkbox and two optional dates (From, Until) for each of the site's roles."""

    def __init__(
        self,
        data=None,
        *,
        roles: Iterable[BusinessRole],
        held: dict[int, tuple[datetime.date | None, datetime.date | None]],
    ):
        super().__init__(data)
        self.roles = list(roles)
        for role in self.roles:
            starts_on, ends_on = held.get(role.pk, (None, None))
            self.fields[f"role_{role.pk}"] = forms.BooleanField(
                label=role.name, required=False, initial=role.pk in held
            )
            self.fields[f"starts_{role.pk}"] = forms.DateField(
                label=f"From (optional) for {role.name}",
                required=False,
                initial=starts_on,
                error_messages={
                    "invalid": f"Enter the start date of “{role.name}” as a real date."
                },
            )
            self.fields[f"ends_{role.pk}"] = forms.DateField(
                label=f"Until (optional) for {role.name}",
                required=False,
                initial=ends_on,
                error_messages={"invalid": f"Enter the end date of “{role.name}” as a real date."},
            )

    def clean(self):
        cleaned = super().clean()
        for role in self.roles:
            starts_on = cleaned.get(f"starts_{role.pk}")
            ends_on = cleaned.get(f"ends_{role.pk}")
            if cleaned.get(f"role_{role.pk}") and starts_on and ends_on and ends_on < starts_on:
                self.add_error(
                    f"ends_{role.pk}",
                    f"The end date of “{role.name}” must be the same as or after its start date.",
                )
        return cleaned

    @property
    def rows(self) -> list[RoleRow]:
        return [
            RoleRow(
                role,
                self[f"role_{role.pk}"],
                self[f"starts_{role.pk}"],
                self[f"ends_{role.pk}"],
            )
            for role in self.roles
        ]

    def assignments(
        self,
    ) -> list[tuple[BusinessRole, datetime.date | None, datetime.date | None]]:
        """The ticked roles with their dates (dates of unticked roles are ignored)."""
        return [
            (
                role,
                self.cleaned_data.get(f"starts_{role.pk}"),
                self.cleaned_data.get(f"ends_{role.pk}"),
            )
            for role in self.roles
            if self.cleaned_data.get(f"role_{role.pk}")
        ]


class AssociationAllForm(forms.Form):
    all_schools = forms.TypedChoiceField(
        label="Associated to all institutions",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose yes or no.",
            "invalid_choice": "Choose yes or no.",
        },
    )


class _GroupSchoolsField(forms.ModelMultipleChoiceField):
    """Schools chosen by URN among the group's current schools; anything else is refused
    as a whole, with the same message whether it exists elsewhere or not at all."""

    def clean(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        if any(not isinstance(v, str) or not URN_PATTERN.match(v) for v in values):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().clean(value)


class AssociationSchoolsForm(forms.Form):
    """Schools to add to a person's associations."""

    schools = _GroupSchoolsField(
        label="Schools to add",
        queryset=Institution.objects.none(),
        to_field_name="urn",
        error_messages={"required": "Choose at least one school to add."},
    )

    def __init__(self, data=None, *, group: Institution):
        super().__init__(data)
        field = self.fields["schools"]
        field.queryset = current_schools(group=group)
        message = not_the_groups_schools(group)
        field.error_messages.update(
            {"invalid_choice": message, "invalid_pk_value": message, "invalid_list": message}
        )


class AssociationClustersForm(forms.Form):
    """The clusters a person is associated with (all of them, replacing the last choice)."""

    clusters = forms.ModelMultipleChoiceField(
        label="Clusters",
        queryset=Cluster.objects.none(),
        required=False,
    )

    def __init__(self, data=None, *, group: Institution):
        super().__init__(data)
        field = self.fields["clusters"]
        field.queryset = Cluster.objects.filter(group=group)
        message = not_the_groups_clusters(group)
        field.error_messages.update(
            {"invalid_choice": message, "invalid_pk_value": message, "invalid_list": message}
        )
