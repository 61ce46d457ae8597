"""Staff onboarding pages: add a member of staff (one, or many from a CSV file), send an
invitation again or revoke it, deactivate and reactivate a member of staff (all needing
“User Details: Manage All Users” at Administer), and the public page an invitation's link
opens, on the site's own host.
"""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts.audit import actor_from_request, client_ip
from accounts.identity.sign_in import SecondFactor, sign_in_record
from accounts.models import StaffProfile
from accounts.permissions import USER_DETAILS, Access
from accounts.two_factor.selectors import site_requires_two_factor
from matmis.site_access import ANY_SITE
from matmis.views import SitePageView

from .bulk_add import COLUMNS, MAX_LINES, LineOutcome, StaffFileError, staff_bulk_add
from .onboarding import (
    INVITATION_LIFETIME,
    AddOutcome,
    InvitationLinkRefused,
    invitation_accept,
    invitation_for_link,
    invitation_resend,
    invitation_revoke,
    staff_deactivate,
    staff_member_add,
    staff_reactivate,
)
from .onboarding_forms import InvitationPasswordForm, StaffAddForm, StaffFileForm
from .onboarding_selectors import deactivated_profile_for_id, invitation_for_id
from .selectors import staff_profile_for_id
from .services import roles_ensure_defaults

MANAGE_STAFF = (USER_DETAILS, Access.ADMINISTER)
SIGN_IN_BACKEND = "accounts.backends.SiteStaffBackend"


def added_message(outcome: AddOutcome, *, name: str, email: str, site_name: str) -> str:
    if outcome is AddOutcome.INVITED:
        days = INVITATION_LIFETIME.days
        return (
            f"{name} is invited. An email to {email} has a link to choose a password; it "
            f"works once, for {days} days. They appear under “Invited” until they accept."
        )
    return (
        f"{name} already had an account on matmis, so they were added to {site_name} at "
        f"once, with the same password. An email to {email} tells them."
    )


class StaffAddView(SitePageView):
    """/staff/add/: name, email, job title, roles and (group sites) associations."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_STAFF, "POST": MANAGE_STAFF}

    def _render(self, request: HttpRequest, form: StaffAddForm) -> HttpResponse:
        return render(request, "accounts/staff/add.html", {"form": form})

    def get(self, request: HttpRequest) -> HttpResponse:
        roles_ensure_defaults(site=request.site)
        return self._render(request, StaffAddForm(site=request.site))

    def post(self, request: HttpRequest) -> HttpResponse:
        roles_ensure_defaults(site=request.site)
        form = StaffAddForm(request.POST, site=request.site)
        if form.is_valid():
            try:
                result = staff_member_add(
                    site=request.site, member=form.member(), actor=actor_from_request(request)
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for field, problems in error.message_dict.items():
                        target = field if field in form.fields else None
                        if field in ("associations",) and "schools" in form.fields:
                            target = "schools"
                        for problem in problems:
                            form.add_error(target, problem)
                else:
                    form.add_error(None, error)
            else:
                person = result.profile.user
                messages.success(
                    request,
                    added_message(
                        result.outcome,
                        name=person.display_name,
                        email=person.email,
                        site_name=request.site.name,
                    ),
                )
                return redirect("staff:list")
        return self._render(request, form)


class StaffBulkAddView(SitePageView):
    """/staff/add/csv/: upload a CSV file of people; every line is checked, then all are
    added or none, with a result per line."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_STAFF, "POST": MANAGE_STAFF}

    def _render(self, request, form, result=None, status=200) -> HttpResponse:
        return render(
            request,
            "accounts/staff/bulk_add.html",
            {
                "form": form,
                "result": result,
                "columns": COLUMNS,
                "max_lines": MAX_LINES,
                "roles": list(roles_ensure_defaults(site=request.site)),
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, StaffFileForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        roles_ensure_defaults(site=request.site)
        form = StaffFileForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form)
        try:
            result = staff_bulk_add(
                site=request.site,
                data=form.cleaned_data["file"].read(),
                actor=actor_from_request(request),
            )
        except StaffFileError as error:
            form.add_error("file", str(error))
            return self._render(request, form)
        if result.added:
            messages.success(
                request,
                f"{len(result.lines)} people added: {result.count(LineOutcome.INVITED)} invited, "
                f"{result.count(LineOutcome.EXISTING_USER_ADDED)} existing users added.",
            )
        return self._render(request, StaffFileForm(), result)


class InvitationResendView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_STAFF}

    def post(self, request: HttpRequest, invitation_id: int) -> HttpResponse:
        invitation = invitation_for_id(site=request.site, invitation_id=invitation_id)
        try:
            invitation = invitation_resend(invitation=invitation, actor=actor_from_request(request))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"A new invitation email was sent to {invitation.profile.user.email}. The "
                f"earlier links no longer work; the new one works for "
                f"{INVITATION_LIFETIME.days} days.",
            )
        return redirect("staff:list")


class InvitationRevokeView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_STAFF}

    def post(self, request: HttpRequest, invitation_id: int) -> HttpResponse:
        invitation = invitation_for_id(site=request.site, invitation_id=invitation_id)
        try:
            invitation_revoke(invitation=invitation, actor=actor_from_request(request))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"The invitation of {invitation.profile.user.email} was revoked: its link no "
                "longer works.",
            )
        return redirect("staff:list")


class StaffDeactivateView(SitePageView):
    """/staff/<id>/deactivate/: a confirmation page, then the deactivation."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_STAFF, "POST": MANAGE_STAFF}

    def _render(self, request, profile: StaffProfile, problems=(), status=200):
        return render(
            request,
            "accounts/staff/deactivate.html",
            {
                "profile": profile,
                "person": profile.user,
                "problems": list(problems),
                "is_self": profile.user_id == request.user.pk,
            },
            status=status,
        )

    def get(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = staff_profile_for_id(site=request.site, profile_id=profile_id)
        return self._render(request, profile)

    def post(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = staff_profile_for_id(site=request.site, profile_id=profile_id)
        try:
            result = staff_deactivate(profile=profile, actor=actor_from_request(request))
        except ValidationError as error:
            return self._render(request, profile, error.messages, status=400)
        name = profile.user.display_name
        ended = result.sessions_ended
        messages.success(
            request,
            f"{name} is deactivated: they can no longer sign in to {request.site.name}"
            + (f" ({ended} signed-in session{'s' if ended != 1 else ''} ended)" if ended else "")
            + ". Their roles and history are kept; you can reactivate them from the Staff list.",
        )
        return redirect("staff:list")


class StaffReactivateView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_STAFF}

    def post(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = deactivated_profile_for_id(site=request.site, profile_id=profile_id)
        try:
            staff_reactivate(profile=profile, actor=actor_from_request(request))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("staff:list")
        messages.success(
            request,
            f"{profile.user.display_name} is reactivated, with the roles they held.",
        )
        return redirect("staff:profile", profile_id=profile.pk)


# --- The invitation's link (public, on the site's host) ----------------------------------------


class InvitationAcceptView(SitePageView):
    """/accounts/invitation/<token>/: the emailed link. Looking changes nothing (mail
    scanners follow links); accepting is a POST: the password (for someone who has none
    yet), then signed in here, and on to set up two-factor sign-in where the site requires
    it. A link of another site's invitation is refused here like a forged one."""

    site_kind = ANY_SITE
    public = True
    method_permissions = {"GET": None, "POST": None}
    view_decorators = (sensitive_post_parameters("new_password1", "new_password2"), never_cache)

    def _refused(self, request, refusal: InvitationLinkRefused) -> HttpResponse:
        return render(
            request,
            "accounts/invitation_refused.html",
            {"message": str(refusal), "problem": refusal.problem},
            status=404 if refusal.problem == "not_valid" else 410,
        )

    def _render(self, request, invitation, form) -> HttpResponse:
        response = render(
            request,
            "accounts/invitation_accept.html",
            {
                "invitation": invitation,
                "person": invitation.profile.user,
                "form": form,
                "requires_two_factor": site_requires_two_factor(site=request.site),
            },
        )
        response["Referrer-Policy"] = "same-origin"  # the token never leaves this site
        return response

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            invitation = invitation_for_link(site=request.site, token=token)
        except InvitationLinkRefused as refusal:
            return self._refused(request, refusal)
        user = invitation.profile.user
        form = None if user.has_usable_password() else InvitationPasswordForm(user)
        return self._render(request, invitation, form)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            invitation = invitation_for_link(site=request.site, token=token)
        except InvitationLinkRefused as refusal:
            return self._refused(request, refusal)
        user = invitation.profile.user
        password = None
        if not user.has_usable_password():
            form = InvitationPasswordForm(user, request.POST)
            if not form.is_valid():
                return self._render(request, invitation, form)
            password = form.cleaned_data["new_password1"]
        try:
            profile = invitation_accept(
                site=request.site, token=token, password=password, ip_address=client_ip(request)
            )
        except InvitationLinkRefused as refusal:
            return self._refused(request, refusal)
        if password is None:
            messages.success(
                request,
                f"You have joined {request.site.name}. Sign in with the password you already "
                "use on matmis.",
            )
            return redirect("accounts:sign-in")
        if request.user.is_authenticated:
            request.session.flush()
        auth_login(request, profile.user, backend=SIGN_IN_BACKEND)
        sign_in_record(actor=actor_from_request(request), second_factor=SecondFactor.NONE)
        if site_requires_two_factor(site=request.site):
            messages.success(
                request,
                f"Your password is set. {request.site.name} requires two-factor sign-in: set "
                "it up now to continue.",
            )
            return redirect("accounts:two-factor")
        messages.success(request, f"Welcome to {request.site.name}. Your password is set.")
        return redirect("/")
