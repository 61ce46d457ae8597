"""Forms of signing in and of password reset."""

from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordResetForm,
    SetPasswordForm,
    SetPasswordMixin,
)
from django.core.exceptions import NON_FIELD_ERRORS

from institutions.models import Institution

from .sign_in import SignInRefusal, password_reset_recipients


class SignInForm(AuthenticationForm):
    """Email and password. ``refusal``: sign-in is paused (throttling), decided by the view
    before the form runs, so a paused account's password is never even checked."""

    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address like name@school.org.uk",
        },
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password"},
    )
    error_messages = {
        "invalid_login": (
            "The email address or password is not right for this site. Check them and try again."
        ),
        "inactive": "This account is switched off. Ask your administrator.",
    }

    def __init__(self, request=None, *args, refusal: SignInRefusal | None = None, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.refusal = refusal

    def clean(self):
        if self.refusal is not None:
            raise forms.ValidationError(self.refusal.message, code="paused")
        return super().clean()

    @property
    def failed_credentials(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, "invalid_login") or self.has_error(
            NON_FIELD_ERRORS, "inactive"
        )


class PasswordResetRequestForm(PasswordResetForm):
    """Sends a link only to someone who works at this site (see
    ``accounts.identity.sign_in.password_reset_recipients``); the page says the same either
    way."""

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address like name@school.org.uk.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, site: Institution | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site

    def get_users(self, email):
        return password_reset_recipients(email=email, site=self.site)


class NewPasswordForm(SetPasswordForm):
    new_password1, new_password2 = SetPasswordMixin.create_password_fields(
        label1="New password", label2="Type the new password again"
    )
    new_password1.help_text = ""
    new_password1.error_messages["required"] = "Enter a new password"
    new_password2.error_messages["required"] = "Type the new password again"
