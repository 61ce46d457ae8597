"""Forms of the platform pages (bare base domain) for institutions."""

from django import forms
from django.core.files.uploadedfile import UploadedFile

from .gias import RegisterFileError, check_header, header_of_sample

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_UPLOAD_LABEL = "100 MB"
_SAMPLE_BYTES = 64 * 1024


def _too_large() -> str:
    return f"The selected file must be smaller than {MAX_UPLOAD_LABEL}"


class RegisterUploadForm(forms.Form):
    """An establishment export to import: a CSV file under 100 MB whose header has the
    register's key columns. Checked here so a wrong file is refused before it is queued."""

    file = forms.FileField(
        label="Establishment export (CSV)",
        error_messages={
            "required": "Select the establishment export CSV file",
            "empty": "The selected file is empty",
            "invalid": "The selected file could not be read. Choose it again",
            "missing": "Select the establishment export CSV file",
        },
    )

    @classmethod
    def refused_as_too_large(cls) -> "RegisterUploadForm":
        """The form as shown for an upload refused from its size alone, before reading it."""
        form = cls(data={}, files={})
        form.full_clean()
        form.errors["file"] = form.error_class([_too_large()])
        return form

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_too_large())
        if not (upload.name or "").lower().endswith(".csv"):
            raise forms.ValidationError("The selected file must be a CSV (a name ending .csv)")
        upload.seek(0)
        sample = upload.read(_SAMPLE_BYTES)
        upload.seek(0)
        try:
            check_header(header_of_sample(sample))
        except RegisterFileError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return upload
