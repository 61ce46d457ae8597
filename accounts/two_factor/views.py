"""Two-factor sign-in pages: set it up (QR code, secret, confirm with a code), see the
backup codes or make new ones, turn it off; and the site's security settings."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login

from accounts.audit import actor_from_request
from accounts.permissions import USER_DETAILS, Access
from matmis.site_access import ANY_SITE, SiteKind
from matmis.views import SitePageView

from .codes import BACKUP_CODE_COUNT, format_backup_code
from .enrolment import (
    ENROLMENT_KEY_SESSION,
    enrolment_config_url,
    enrolment_key,
    enrolment_key_peek,
    qr_code_svg,
    secret_for_display,
)
from .forms import (
    SecurityPolicyForm,
    SignInProviderForm,
    TwoFactorConfirmForm,
    TwoFactorRemoveForm,
)
from .selectors import (
    authenticator_for,
    backup_codes_left,
    security_policy_for,
    site_requires_two_factor,
    staff_two_factor_counts,
    two_factor_required_by,
    user_has_two_factor,
)
from .services import (
    TwoFactorRefused,
    backup_codes_regenerate,
    security_policy_update,
    sign_in_provider_update,
    two_factor_enrol,
    two_factor_remove,
)

# Session key of the backup codes just made, shown once on the next page.
FRESH_BACKUP_CODES_SESSION = "_matmis_two_factor_fresh_codes"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


# --- Two-factor sign-in: set up, backup codes, turn off --------------------------------------


class TwoFactorPageView(SitePageView):
    """Pages that manage the signed-in person's own two-factor sign-in, on any site and on
    the platform (whose staff must all use it).

    Someone who has it set up must have used it in this session to manage it, whatever the
    site-wide gate last concluded."""

    site_kind = ANY_SITE | {SiteKind.PLATFORM}
    two_factor_recheck = True
    view_decorators = (never_cache,)


class TwoFactorView(TwoFactorPageView):
    """/accounts/two-factor/: set it up (QR code, secret, confirm with a code) or, once set
    up, see its state and manage it."""

    method_permissions = {"GET": None, "POST": None}
    view_decorators = (sensitive_post_parameters("code"), never_cache)
    two_factor_setup_page = True

    def get(self, request):
        device = authenticator_for(user=request.user)
        if device is not None:
            return self._render_status(request, device)
        return self._render_setup(request, TwoFactorConfirmForm())

    def post(self, request):
        if user_has_two_factor(user=request.user):
            return redirect("accounts:two-factor")
        key = enrolment_key_peek(request)
        if key is None:
            messages.warning(request, "Scan the QR code below, then enter the code again.")
            return redirect("accounts:two-factor")
        form = TwoFactorConfirmForm(request.POST)
        if form.is_valid():
            try:
                enrolment = two_factor_enrol(
                    user=request.user,
                    key_hex=key,
                    code=form.cleaned_data["code"],
                    actor=actor_from_request(request),
                )
            except TwoFactorRefused as refusal:
                form.add_error("code", str(refusal))
            else:
                request.session.pop(ENROLMENT_KEY_SESSION, None)
                otp_login(request, enrolment.device)
                request.session[FRESH_BACKUP_CODES_SESSION] = enrolment.backup_codes
                messages.success(
                    request,
                    "Two-factor sign-in is set up. From now on you will be asked for a code "
                    "from your app each time you sign in.",
                )
                return redirect("accounts:two-factor-backup-codes")
        return self._render_setup(request, form, status=200)

    def _render_setup(self, request, form, status=200):
        key = enrolment_key(request)
        return _no_store(
            render(
                request,
                "accounts/two_factor_setup.html",
                {
                    "form": form,
                    "secret": secret_for_display(key),
                    "required_here": site_requires_two_factor(site=request.site),
                },
                status=status,
            )
        )

    def _render_status(self, request, device):
        return render(
            request,
            "accounts/two_factor_status.html",
            {
                "device": device,
                "backup_codes_left": backup_codes_left(user=request.user),
                "backup_code_count": BACKUP_CODE_COUNT,
                "required_by": two_factor_required_by(user=request.user),
            },
        )


class TwoFactorQrCodeView(TwoFactorPageView):
    """The QR code of the secret being set up, as SVG, for its own person only."""

    method_permissions = {"GET": None}
    two_factor_setup_page = True

    def get(self, request):
        key = enrolment_key_peek(request)
        if key is None or user_has_two_factor(user=request.user):
            raise Http404
        svg = qr_code_svg(
            content=enrolment_config_url(user=request.user, key_hex=key),
            title="QR code to scan with your authenticator app",
        )
        return _no_store(HttpResponse(svg, content_type="image/svg+xml"))


class BackupCodesView(TwoFactorPageView):
    """Fresh backup codes are shown once, straight after they are made; POST makes new ones."""

    method_permissions = {"GET": None, "POST": None}

    def get(self, request):
        if not user_has_two_factor(user=request.user):
            return redirect("accounts:two-factor")
        codes = request.session.pop(FRESH_BACKUP_CODES_SESSION, None)
        return _no_store(
            render(
                request,
                "accounts/two_factor_backup_codes.html",
                {
                    "codes": [format_backup_code(code) for code in codes or []],
                    "backup_codes_left": backup_codes_left(user=request.user),
                    "backup_code_count": BACKUP_CODE_COUNT,
                    # Where to go on: the site's home; on the platform, the support admin.
                    "continue_url": reverse("home" if request.site else "admin:index"),
                },
            )
        )

    def post(self, request):
        try:
            codes = backup_codes_regenerate(user=request.user, actor=actor_from_request(request))
        except TwoFactorRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("accounts:two-factor")
        request.session[FRESH_BACKUP_CODES_SESSION] = codes
        messages.success(
            request, "You have new backup codes. Your old backup codes no longer work."
        )
        return redirect("accounts:two-factor-backup-codes")


class TwoFactorRemoveView(TwoFactorPageView):
    """/accounts/two-factor/remove/: turn one's own two-factor sign-in off, with a code."""

    method_permissions = {"GET": None, "POST": None}
    view_decorators = (sensitive_post_parameters("code"), never_cache)
    template_name = "accounts/two_factor_remove.html"

    def _render(self, request, form, status=200):
        return render(
            request,
            self.template_name,
            {"form": form, "required_by": two_factor_required_by(user=request.user)},
            status=status,
        )

    def get(self, request):
        if not user_has_two_factor(user=request.user):
            return redirect("accounts:two-factor")
        return self._render(request, TwoFactorRemoveForm())

    def post(self, request):
        if not user_has_two_factor(user=request.user):
            return redirect("accounts:two-factor")
        form = TwoFactorRemoveForm(request.POST)
        if form.is_valid():
            try:
                two_factor_remove(
                    user=request.user,
                    code=form.cleaned_data["code"],
                    actor=actor_from_request(request),
                )
            except TwoFactorRefused as refusal:
                form.add_error("code", str(refusal))
            else:
                request.session.pop(DEVICE_ID_SESSION_KEY, None)
                messages.success(
                    request,
                    "Two-factor sign-in is off. You will sign in with your password only.",
                )
                return redirect("accounts:two-factor")
        return self._render(request, form, status=400)


# --- The site's security settings ------------------------------------------------------------


class SecurityPolicyView(SitePageView):
    """/accounts/security/: whether this site requires two-factor sign-in of all staff."""

    site_kind = ANY_SITE
    method_permissions = {
        "GET": (USER_DETAILS, Access.ADMINISTER),
        "POST": (USER_DETAILS, Access.ADMINISTER),
    }
    template_name = "accounts/security.html"

    def _render(self, request, form, status=200):
        using, total = staff_two_factor_counts(site=request.site)
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "policy": security_policy_for(site=request.site),
                "staff_using": using,
                "staff_total": total,
                "you_use_it": user_has_two_factor(user=request.user),
            },
            status=status,
        )

    def get(self, request):
        policy = security_policy_for(site=request.site)
        form = SecurityPolicyForm(initial={"require_two_factor": policy.require_two_factor})
        return self._render(request, form)

    def post(self, request):
        form = SecurityPolicyForm(request.POST)
        if form.is_valid():
            required = form.cleaned_data["require_two_factor"]
            try:
                security_policy_update(
                    site=request.site,
                    require_two_factor=required,
                    actor=actor_from_request(request),
                )
            except TwoFactorRefused as refusal:
                form.add_error("require_two_factor", str(refusal))
            else:
                if required:
                    messages.success(
                        request,
                        f"Two-factor sign-in is now required at {request.site.name}. Staff "
                        "who have not set it up will be asked to before they can continue.",
                    )
                else:
                    messages.success(
                        request,
                        f"Two-factor sign-in is now optional at {request.site.name}.",
                    )
                return redirect("accounts:security")
        return self._render(request, form, status=400)


class SignInProviderView(SitePageView):
    """/accounts/security/sign-in-provider/: sign-in with Microsoft or Google at this site
    (``accounts.identity.provider``)."""

    site_kind = ANY_SITE
    method_permissions = {
        "GET": (USER_DETAILS, Access.ADMINISTER),
        "POST": (USER_DETAILS, Access.ADMINISTER),
    }
    template_name = "accounts/sign_in_provider_settings.html"

    @staticmethod
    def _offered() -> dict[str, str]:
        return {
            key: config["name"]
            for key, config in settings.SIGN_IN_PROVIDERS.items()
            if config.get("client_id")
        }

    def _render(self, request, form, status=200):
        policy = security_policy_for(site=request.site)
        offered = self._offered()
        chosen = policy.sign_in_provider
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "policy": policy,
                "offered": offered,
                # The site's saved choice, when this deployment no longer offers it (or never
                # did): nobody can use it, and saving the page without it turns it off.
                "chosen_not_offered": (
                    settings.SIGN_IN_PROVIDERS.get(chosen, {}).get("name", chosen)
                    if chosen and chosen not in offered
                    else ""
                ),
            },
            status=status,
        )

    def get(self, request):
        policy = security_policy_for(site=request.site)
        form = SignInProviderForm(
            offered=self._offered(),
            initial={
                "provider": policy.sign_in_provider,
                "domains": policy.sign_in_domains,
                "accept_provider_mfa": policy.accept_provider_mfa,
            },
        )
        return self._render(request, form)

    def post(self, request):
        form = SignInProviderForm(request.POST, offered=self._offered())
        if not form.is_valid():
            return self._render(request, form, status=400)
        provider = form.cleaned_data["provider"]
        sign_in_provider_update(
            site=request.site,
            provider=provider,
            domains=form.cleaned_data.get("domain_list", []),
            accept_provider_mfa=form.cleaned_data["accept_provider_mfa"],
            actor=actor_from_request(request),
        )
        if provider:
            messages.success(
                request,
                f"Staff at {request.site.name} can now sign in with {self._offered()[provider]}.",
            )
        else:
            messages.success(
                request, f"Staff at {request.site.name} sign in with their email and password."
            )
        return redirect("accounts:security")
