"""Signing in and out, and password reset."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from accounts.audit import actor_from_request, client_ip
from accounts.two_factor.codes import backup_code_count_warning
from accounts.two_factor.forms import SignInCodeForm
from accounts.two_factor.selectors import (
    PLATFORM_SUPPORT_NAME,
    PROVIDER_MFA_SESSION_KEY,
    backup_codes_left,
    security_policy_for,
    site_requires_two_factor,
    user_has_two_factor,
)
from accounts.two_factor.services import BACKUP_CODE_SPENT, two_factor_verify

from .forms import NewPasswordForm, PasswordResetRequestForm, SignInForm
from .provider import (
    STARTED_SESSION_KEY,
    ProviderSignInRefused,
    provider_callback,
    provider_handover_redeem,
    provider_sign_in_start,
    site_sign_in_provider,
)
from .reset_link import password_reset_request
from .sign_in import (
    PENDING_SIGN_IN_KEY,
    PENDING_SIGN_IN_LIFETIME,
    FailureReason,
    SecondFactor,
    SignInAttempt,
    password_reset_allowed,
    password_reset_recipients,
    pending_sign_in_clear,
    pending_sign_in_get,
    pending_sign_in_start,
    sign_in_failure_record,
    sign_in_record,
    sign_in_refusal,
    sign_out_record,
)

SIGN_IN_BACKEND = "accounts.backends.SiteStaffBackend"


def _attempt(request) -> SignInAttempt:
    return SignInAttempt(user=None, site=request.site, ip_address=client_ip(request))


# --- Sign in, step 1: email and password ------------------------------------------------


class SignInView(auth_views.LoginView):
    """Email and password. With two-factor sign-in set up, nobody is signed in yet: the
    person goes on to the code step (``SignInCodeView``)."""

    template_name = "accounts/sign_in.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.request.method == "POST":
            kwargs["refusal"] = sign_in_refusal(
                email=self.request.POST.get("username", ""),
                ip_address=client_ip(self.request),
            )
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sign_in_provider"] = site_sign_in_provider(
            site=getattr(self.request, "site", None)
        )
        return context

    def form_invalid(self, form):
        if form.failed_credentials:
            sign_in_failure_record(
                email=form.data.get("username", ""),
                actor=_attempt(self.request),
                reason=FailureReason.CREDENTIALS,
            )
        status = 429 if form.refusal is not None else 200
        return self.render_to_response(self.get_context_data(form=form), status=status)

    def form_valid(self, form):
        request = self.request
        user = form.get_user()
        if user_has_two_factor(user=user):
            # Where this sign-in goes once the code is given: the page asked for, or this
            # host's landing page (the platform has no "home").
            pending_sign_in_start(request, user=user, next_url=self.get_success_url())
            return redirect("accounts:sign-in-code")
        auth_login(request, user)
        sign_in_record(actor=actor_from_request(request), second_factor=SecondFactor.NONE)
        if site_requires_two_factor(site=request.site):
            requirer = request.site.name if request.site else PLATFORM_SUPPORT_NAME
            messages.info(
                request, f"{requirer} requires two-factor sign-in. Set it up now to continue."
            )
            return redirect("accounts:two-factor")
        return HttpResponseRedirect(self.get_success_url())


# --- Sign in, step 2: the code -----------------------------------------------------------


@method_decorator([sensitive_post_parameters("code"), never_cache], name="dispatch")
class SignInCodeView(View):
    template_name = "accounts/sign_in_code.html"

    def _render(self, request, form, pending, status=200):
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "pending": pending,
                "lifetime_minutes": int(PENDING_SIGN_IN_LIFETIME.total_seconds() // 60),
            },
            status=status,
        )

    def _start_again(self, request, *, had_pending: bool):
        if had_pending:
            minutes = int(PENDING_SIGN_IN_LIFETIME.total_seconds() // 60)
            messages.warning(
                request,
                f"Your sign-in timed out: the code must be entered within {minutes} minutes "
                "of your password. Sign in again.",
            )
        return redirect("accounts:sign-in")

    def get(self, request):
        had_pending = PENDING_SIGN_IN_KEY in request.session
        pending = pending_sign_in_get(request)
        if pending is None:
            return self._start_again(request, had_pending=had_pending)
        return self._render(request, SignInCodeForm(), pending)

    def post(self, request):
        had_pending = PENDING_SIGN_IN_KEY in request.session
        pending = pending_sign_in_get(request)
        if pending is None:
            return self._start_again(request, had_pending=had_pending)
        user = pending.user
        refusal = sign_in_refusal(email=user.email, ip_address=client_ip(request))
        if refusal is not None:
            pending_sign_in_clear(request)
            messages.error(request, refusal.message)
            return redirect("accounts:sign-in")

        form = SignInCodeForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, pending)
        verification = two_factor_verify(user=user, code=form.cleaned_data["code"])
        if verification.throttled:
            form.add_error(
                "code",
                "Too many wrong codes in a row. Wait a few seconds, then enter the code your "
                "app shows now.",
            )
            return self._render(request, form, pending)
        if not verification.ok:
            sign_in_failure_record(
                email=user.email, actor=_attempt(request), reason=FailureReason.WRONG_CODE
            )
            form.add_error(
                "code",
                BACKUP_CODE_SPENT
                if verification.spent_backup_code
                else "That code is not right. Enter the code your app shows now, or one of "
                "your backup codes.",
            )
            return self._render(request, form, pending)

        pending_sign_in_clear(request)
        auth_login(request, user, backend=SIGN_IN_BACKEND)
        otp_login(request, verification.device)
        sign_in_record(
            actor=actor_from_request(request),
            second_factor=(
                SecondFactor.BACKUP_CODE
                if verification.used_backup_code
                else SecondFactor.AUTHENTICATOR
            ),
        )
        if verification.used_backup_code:
            messages.warning(request, backup_code_count_warning(backup_codes_left(user=user)))
        return HttpResponseRedirect(pending.next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


class SignOutView(auth_views.LogoutView):
    """Signing out ends the session here; during a hop it also ends the hop and returns the
    person to the group site they came from."""

    def post(self, request, *args, **kwargs):
        hop_group = getattr(request, "hop_group", None)
        if request.user.is_authenticated:
            actor = actor_from_request(request)
            sign_out_record(actor=actor)
        response = super().post(request, *args, **kwargs)
        if hop_group is not None:
            return redirect(hop_group.url)
        return response


# --- Password reset --------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a link. The next page says the same whether or not a link was sent, and
    whether or not this address or network has asked too often (then nothing is sent).
    The email goes through the outbox (``reset_link``)."""

    template_name = "registration/password_reset_form.html"
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password-reset-done")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["site"] = self.request.site
        return kwargs

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        if password_reset_allowed(email=email, ip_address=client_ip(self.request)):
            password_reset_request(users=list(form.get_users(email)), site=self.request.site)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The emailed link. Works once, for a person who still works at this site; never signs
    anyone in (two-factor sign-in still applies at the next sign-in)."""

    template_name = "registration/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("accounts:password-reset-complete")
    post_reset_login = False

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        if user is None:
            return None
        recipients = password_reset_recipients(email=user.email, site=self.request.site)
        return user if recipients.filter(pk=user.pk).exists() else None


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


# --- Sign in with Microsoft or Google (accounts.identity.provider) -------------------------


def _provider_refused(request, message: str, *, site=None, status=403):
    return render(
        request,
        "accounts/sign_in_provider_refused.html",
        {"message": message, "back_url": site.url + "accounts/sign-in/" if site else None},
        status=status,
    )


@method_decorator(never_cache, name="dispatch")
class ProviderSignInStartView(View):
    """The site's host: the "Sign in with ..." link. Remembers in this browser's session
    which sign-in it started, then sends the browser to the provider."""

    def get(self, request):
        site = request.site
        if site is None:
            return redirect("accounts:sign-in")
        try:
            attempt, address = provider_sign_in_start(site=site)
        except ProviderSignInRefused as refusal:
            return _provider_refused(request, str(refusal), site=site)
        request.session[STARTED_SESSION_KEY] = attempt.pk
        return HttpResponseRedirect(address)


@method_decorator(never_cache, name="dispatch")
class ProviderCallbackView(View):
    """The platform host: the deployment's one redirect URI. Hands the person over to the
    site that started the sign-in, with a single-use token."""

    def get(self, request):
        try:
            attempt, handover, refusal = provider_callback(
                state=request.GET.get("state", ""),
                code=request.GET.get("code", ""),
                error=request.GET.get("error", ""),
                ip_address=client_ip(request),
            )
        except ProviderSignInRefused as refused:
            return _provider_refused(request, str(refused))
        if handover is None:
            return _provider_refused(request, refusal, site=attempt.site)
        return HttpResponseRedirect(handover.url)


@method_decorator(never_cache, name="dispatch")
class ProviderSignInFinishView(View):
    """The site's host: redeem the handover token and sign the person in here, on to the
    two-factor step unless the site accepts the provider's multi-factor sign-in."""

    def get(self, request):
        site = request.site
        if site is None:
            return redirect("accounts:sign-in")
        try:
            attempt = provider_handover_redeem(
                token=request.GET.get("token", ""),
                site=site,
                started_id=request.session.get(STARTED_SESSION_KEY),
            )
        except ProviderSignInRefused as refusal:
            return _provider_refused(request, str(refusal), site=site)
        request.session.pop(STARTED_SESSION_KEY, None)
        user = attempt.user
        home = resolve_url(settings.LOGIN_REDIRECT_URL)
        mfa_accepted = attempt.provider_mfa and security_policy_for(site=site).accept_provider_mfa
        if not mfa_accepted and user_has_two_factor(user=user):
            pending_sign_in_start(request, user=user, next_url=home)
            return redirect("accounts:sign-in-code")
        auth_login(request, user, backend=SIGN_IN_BACKEND)
        if mfa_accepted:
            request.session[PROVIDER_MFA_SESSION_KEY] = True
        sign_in_record(
            actor=actor_from_request(request),
            second_factor=SecondFactor.PROVIDER_MFA if mfa_accepted else SecondFactor.NONE,
        )
        if not mfa_accepted and site_requires_two_factor(site=site):
            messages.info(
                request, f"{site.name} requires two-factor sign-in. Set it up now to continue."
            )
            return redirect("accounts:two-factor")
        return HttpResponseRedirect(home)
