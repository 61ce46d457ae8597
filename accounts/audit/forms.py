"""The audit page's filters."""

from django import forms

from accounts.models import AuditAction


class AuditFilterForm(forms.Form):
    """The audit page's filters, from the query string. Every field is optional."""

    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "All actions"), *AuditAction.choices]
    )
    person = forms.CharField(label="Email contains", required=False, max_length=254)
    date_from = forms.DateField(
        label="From",
        required=False,
        error_messages={"invalid": "Enter the start date as a real date."},
    )
    date_to = forms.DateField(
        label="To", required=False, error_messages={"invalid": "Enter the end date as a real date."}
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be the same as or after the start date.")
        return cleaned

    def filters(self) -> dict:
        """The valid filters, ready for ``accounts.audit.selectors.audit_events``."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return {
            "action": data.get("action") or None,
            "person": (data.get("person") or "").strip() or None,
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
