from django import forms

from .models import NetworkKind


class ResourceForm(forms.Form):
    title = forms.CharField(
        max_length=200, error_messages={"required": "Give the resource a title."}
    )
    description = forms.CharField(required=False, widget=forms.Textarea, max_length=5000)
    file = forms.FileField(required=False, allow_empty_file=True)
    note = forms.CharField(required=False, widget=forms.Textarea)


class ResourceEditForm(forms.Form):
    title = forms.CharField(
        max_length=200, error_messages={"required": "Give the resource a title."}
    )
    description = forms.CharField(required=False, widget=forms.Textarea, max_length=5000)
    note = forms.CharField(required=False, widget=forms.Textarea)


class ReplaceFileForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True, error_messages={"required": "Choose the new file."}
    )


class NetworkRequestForm(forms.Form):
    kind = forms.ChoiceField(
        choices=NetworkKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a collaboration network or a coaching network."},
    )
    name = forms.CharField(max_length=150, error_messages={"required": "Give the network a name."})
    purpose = forms.CharField(required=False, widget=forms.Textarea, max_length=2000)
    organisations = forms.CharField(
        help_text="The other organisations' web addresses or short names, one a line.",
        widget=forms.Textarea,
        error_messages={"required": "Name at least one other organisation."},
    )
    coaching_organisation = forms.CharField(required=False)


class ApprovalForm(forms.Form):
    statement = forms.CharField(
        widget=forms.Textarea,
        max_length=5000,
        error_messages={"required": "Write the statement of approval."},
    )


class WithdrawalForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.Textarea, max_length=2000)
