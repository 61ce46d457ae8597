"""Forms of two-factor sign-in: a code at sign-in or to turn it off, the code that confirms
a new app, and the site's policy."""

from django import forms

from .codes import is_authenticator_code, is_backup_code, normalise_code


class SignInCodeForm(forms.Form):
    """The second step: a code from the authenticator app, or a backup code."""

    code = forms.CharField(
        label="Code from your authenticator app, or a backup code",
        max_length=20,
        error_messages={
            "required": "Enter the 6-digit code from your authenticator app, or a backup code",
            "max_length": "Enter a 6-digit code, or a backup code like abcd-efgh",
        },
    )

    def clean_code(self):
        code = normalise_code(self.cleaned_data["code"])
        if not (is_authenticator_code(code) or is_backup_code(code)):
            raise forms.ValidationError(
                "Enter the 6-digit code from your authenticator app, or a backup code like "
                "abcd-efgh."
            )
        return code


class TwoFactorConfirmForm(forms.Form):
    """Setting up: the code the app shows, proving it holds the secret."""

    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        error_messages={"required": "Enter the 6-digit code your app shows."},
    )

    def clean_code(self):
        code = normalise_code(self.cleaned_data["code"])
        if not is_authenticator_code(code):
            raise forms.ValidationError("Enter the 6 digits your app shows, like 123456.")
        return code


class TwoFactorRemoveForm(SignInCodeForm):
    pass


class SecurityPolicyForm(forms.Form):
    require_two_factor = forms.BooleanField(
        required=False, label="Require two-factor sign-in for all staff"
    )
