"""Forms of staff onboarding: add a member of staff, add many from a CSV file, and accept
an invitation. They parse what a person sent; the rules live in
``accounts.staff.onboarding``."""

from django import forms
from django.db.models.functions import Lower

from accounts.identity.forms import NewPasswordForm
from accounts.models import BusinessRole
from institutions.models import Cluster, Institution
from institutions.selectors import current_schools

from .bulk_add import MAX_BYTES
from .forms import _GroupSchoolsField
from .onboarding import EMAIL_MAX, JOB_TITLE_MAX, NAME_MAX, NewStaffMember
from .services import not_the_groups_clusters, not_the_groups_schools

ASSOCIATION_CHOICES = [
    ("none", "None for now"),
    ("all", "All schools, including any that join later"),
    ("chosen", "Chosen schools and clusters"),
]


class StaffAddForm(forms.Form):
    full_name = forms.CharField(
        label="Full name",
        max_length=NAME_MAX,
        error_messages={
            "required": "Enter the person’s full name.",
            "max_length": f"The full name must be {NAME_MAX} characters or fewer.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label="Email address",
        max_length=EMAIL_MAX,
        error_messages={
            "required": "Enter the person’s email address.",
            "invalid": "Enter an email address like name@school.org.uk.",
            "max_length": "Enter an email address like name@school.org.uk.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    job_title = forms.CharField(
        label="Job title (optional)",
        max_length=JOB_TITLE_MAX,
        required=False,
        error_messages={
            "max_length": f"The job title must be {JOB_TITLE_MAX} characters or fewer."
        },
    )
    roles = forms.ModelMultipleChoiceField(
        label="Roles",
        queryset=BusinessRole.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one role.",
            "invalid_choice": "Choose from this site’s roles.",
            "invalid_pk_value": "Choose from this site’s roles.",
            "invalid_list": "Choose from this site’s roles.",
        },
    )

    def __init__(self, data=None, *, site: Institution):
        super().__init__(data)
        self.site = site
        self.fields["roles"].queryset = BusinessRole.objects.filter(
            site=site,
            retired_at__isnull=True,  # a retired role cannot be given
        ).order_by(Lower("name"), "pk")
        if site.is_group:
            self.fields["associations"] = forms.ChoiceField(
                label="Associated schools",
                choices=ASSOCIATION_CHOICES,
                initial="none",
                widget=forms.RadioSelect,
                error_messages={
                    "required": "Choose which schools the person works with.",
                    "invalid_choice": "Choose which schools the person works with.",
                },
            )
            schools = _GroupSchoolsField(
                label="Schools",
                queryset=current_schools(group=site).order_by("name"),
                to_field_name="urn",
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
            message = not_the_groups_schools(site)
            schools.error_messages.update(
                {"invalid_choice": message, "invalid_pk_value": message, "invalid_list": message}
            )
            self.fields["schools"] = schools
            clusters = forms.ModelMultipleChoiceField(
                label="Clusters",
                queryset=Cluster.objects.filter(group=site).order_by(Lower("name"), "pk"),
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
            message = not_the_groups_clusters(site)
            clusters.error_messages.update(
                {"invalid_choice": message, "invalid_pk_value": message, "invalid_list": message}
            )
            self.fields["clusters"] = clusters

    def clean(self):
        data = super().clean()
        chosen = self.site.is_group and data.get("associations") == "chosen"
        if chosen and not data.get("schools") and not data.get("clusters"):
            self.add_error(
                "schools", "Choose at least one school or cluster, or choose “None for now”."
            )
        return data

    def member(self) -> NewStaffMember:
        data = self.cleaned_data
        choice = data.get("associations", "none")
        return NewStaffMember(
            full_name=data["full_name"],
            email=data["email"],
            job_title=data.get("job_title", ""),
            roles=list(data["roles"]),
            all_schools=choice == "all",
            schools=list(data.get("schools") or []) if choice == "chosen" else [],
            clusters=list(data.get("clusters") or []) if choice == "chosen" else [],
        )


class StaffFileForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        error_messages={
            "required": "Choose a CSV file to upload.",
            "empty": "The file is empty. Add a header line and one line per person.",
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // 1024} KB. Split it into smaller files."
            )
        return upload


class InvitationPasswordForm(NewPasswordForm):
    """Choosing a password when accepting an invitation (the site's password rules)."""
