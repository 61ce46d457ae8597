"""Forms of the school site's Data > Data Sharing pages."""

from django import forms


class SchoolRequestDeclineForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        help_text="The group sees this with the decline. Leave it empty if you prefer.",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
