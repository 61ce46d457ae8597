"""Forms of the CTF pages: the upload, the import's admission date, the export's pupils."""

from django import forms
from django.utils import timezone

from .reader import MAX_BYTES

MAX_UPLOAD_LABEL = f"{MAX_BYTES // 1024 // 1024} MB"


class CtfUploadForm(forms.Form):
    file = forms.FileField(
        label="Common Transfer File",
        help_text=f"The XML file from the sending school's MIS, version 25.0, at most "
        f"{MAX_UPLOAD_LABEL}.",
        error_messages={"required": "Choose a file to upload.", "empty": "The file is empty."},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; a Common Transfer File may "
                f"be at most {MAX_UPLOAD_LABEL} here."
            )
        return upload


class CtfImportForm(forms.Form):
    enrolled_on = forms.DateField(
        label="Admission date of the new pupils",
        widget=forms.DateInput(
            attrs={"type": "date", "class": "govuk-input govuk-input--width-10"}
        ),
        error_messages={"required": "Enter the admission date.", "invalid": "Enter a date."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("enrolled_on", timezone.localdate())
