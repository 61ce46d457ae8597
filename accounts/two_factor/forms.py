"""Forms of two-factor sign-in: a code at sign-in or to turn it off, the code that confirms
a new app, and the site's policy."""

import re

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


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SignInProviderForm(forms.Form):
    """Sign-in with Microsoft or Google at this site: which provider (offered only when the
    deployment configures it), the email domains it accepts, and its MFA claim."""

    provider = forms.ChoiceField(label="Identity provider", required=False)
    domains = forms.CharField(
        label="Email domains accepted", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    accept_provider_mfa = forms.BooleanField(
        label="Accept the provider's multi-factor sign-in in place of this site's own",
        required=False,
    )

    def __init__(self, *args, offered: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        none = ("", "None: email and password only")
        self.fields["provider"].choices = [none, *offered.items()]
        self.fields["provider"].error_messages["invalid_choice"] = (
            "Choose one of the identity providers listed"
        )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("provider"):
            return cleaned
        text = cleaned.get("domains") or ""
        domains = sorted(
            {d.strip().lstrip("@").lower() for d in text.replace(",", "\n").split() if d.strip()}
        )
        if not domains:
            self.add_error("domains", "Enter at least one email domain, such as yourschool.org.uk")
        bad = [d for d in domains if not _DOMAIN.match(d)]
        if bad:
            self.add_error(
                "domains",
                f"{', '.join(bad)} is not an email domain: enter domains like yourschool.org.uk, "
                "one per line",
            )
        cleaned["domain_list"] = domains
        return cleaned
