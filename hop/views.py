"""Log in to MIS: choose a school on the group site; redeem the token on the school site."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from accounts.audit import actor_from_request, client_ip
from accounts.two_factor.selectors import session_is_verified
from institutions.selectors import current_schools
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .selectors import hop_just_ended, hop_places
from .services import (
    HopRefused,
    hop_end,
    hop_sender_check,
    hop_session_start,
    hop_token_issue,
    hop_token_redeem,
    hop_token_unspent,
)


def hop_return_message(school) -> str:
    return f"Your session at {school.name} has ended. To open its MIS again, choose Log in to MIS."


class HopChooseForm(forms.Form):
    """The list offers the schools the user may enter; a posted URN may name any of the
    group's current schools, so that a refusal can say which condition is missing."""

    school = forms.CharField(
        label="School", error_messages={"required": "Choose the school whose MIS to open"}
    )

    def __init__(self, *args, group, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group
        self.choices = [("", "Choose a school")] + [(s.urn, s.name) for s in targets]

    def clean_school(self):
        school = current_schools(group=self.group).filter(urn=self.cleaned_data["school"]).first()
        if school is None:
            raise forms.ValidationError("Choose one of the schools in the list.")
        return school


class HopChooseView(SitePageView):
    """Group site: Institutions > Log in to MIS. Whether the user may enter a school is
    decided by ``hop_token_issue`` (permission, association, agreement, two-factor)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None, "POST": None}
    template_name = "hop/choose.html"

    def _page(self, form_data=None, initial=None) -> dict:
        """The form offering the schools one may enter, and the associated schools one may
        not, each with why and what to do (``hop_places``: at most three queries)."""
        request = self.request
        places = hop_places(
            user=request.user,
            group=request.site,
            two_factor_passed=session_is_verified(request),
        )
        targets = [place.school for place in places if place.possible]
        form = HopChooseForm(form_data, group=request.site, targets=targets, initial=initial)
        refused = [place for place in places if not place.possible]
        return {"form": form, "targets": targets, "refused": refused}

    def get(self, request):
        returned = request.GET.get("returned")
        if returned is not None:
            # Back from a school (``HopReturnView``): say so once, then the page as usual.
            school = hop_just_ended(user=request.user, group=request.site, school_id=returned)
            if school is not None:
                messages.success(request, hop_return_message(school))
            return redirect("hop:choose")
        context = self._page(initial={"school": request.GET.get("school", "")})
        return render(request, self.template_name, context)

    def post(self, request):
        context = self._page(form_data=request.POST)
        form = context["form"]
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        school = form.cleaned_data["school"]
        try:
            token = hop_token_issue(
                actor=actor_from_request(request),
                group=request.site,
                school=school,
                group_session_key=request.session.session_key or "",
                session_verified=session_is_verified(request),
            )
        except HopRefused as refusal:
            messages.error(request, str(refusal))
            return render(request, self.template_name, context, status=403)
        response = render(
            request,
            "hop/continue.html",
            {"school": school, "token": token, "action": f"{school.url}hop/"},
        )
        # The school's host checks that this form came from here by its Origin header,
        # which a browser sends as "null" across origins under the site's "same-origin"
        # policy: this page names its origin (never its path) to the school.
        response["Referrer-Policy"] = "strict-origin"
        return response


def _sent_from(request) -> dict:
    """Where the browser says the request came from (``hop_sender_check``)."""
    return {
        "origin": request.headers.get("Origin"),
        "fetch_site": request.headers.get("Sec-Fetch-Site"),
    }


def _signed_in_as_someone_else(request, user) -> bool:
    return request.user.is_authenticated and request.user.pk != user.pk


class HopRedeemView(SitePageView):
    """School site: spend the token and start a hop session. POST only: the token is
    never in a URL, and a GET (a link scanner, a prefetch) changes nothing.

    Public: the visitor is not signed in here yet; the single-use token is the credential
    (and the CSRF token of the group site's form cannot be checked on this host). What
    stands in for the CSRF check is the browser's ``Origin`` and ``Sec-Fetch-Site``: the
    group's site, or refused (``hop_sender_check``). When someone else is signed in here,
    nothing happens until the person confirms on this host (``HopContinueView``)."""

    site_kind = SiteKind.SCHOOL
    public = True
    method_permissions = {"GET": None, "POST": None}
    view_decorators = (csrf_exempt,)

    def get(self, request):
        return HttpResponseNotAllowed(["POST"])

    def post(self, request):
        token = request.POST.get("token", "")
        pending = hop_token_unspent(token=token, school=request.site)
        try:
            if pending is not None and _signed_in_as_someone_else(request, pending.user):
                hop_sender_check(group=pending.group, school=request.site, **_sent_from(request))
                return render(
                    request,
                    "hop/confirm.html",
                    {"token": token, "continue_as": pending.user, "group": pending.group},
                )
            hop, group_session = hop_token_redeem(
                token=token,
                school=request.site,
                ip_address=client_ip(request),
                **_sent_from(request),
            )
        except HopRefused as refusal:
            return render(request, "hop/refused.html", {"message": str(refusal)}, status=403)
        hop_session_start(request, hop=hop, group_session=group_session)
        return redirect("home")


class HopContinueView(SitePageView):
    """School site: the answer to “You are signed in here as X: continue as Y?”. A form of
    this host's own, so Django's CSRF check applies; the hop then starts as on
    ``HopRedeemView``, replacing the person signed in here."""

    site_kind = SiteKind.SCHOOL
    public = True
    method_permissions = {"GET": None, "POST": None}

    def get(self, request):
        return HttpResponseNotAllowed(["POST"])

    def post(self, request):
        try:
            hop, group_session = hop_token_redeem(
                token=request.POST.get("token", ""),
                school=request.site,
                ip_address=client_ip(request),
                from_school_page=True,
                **_sent_from(request),
            )
        except HopRefused as refusal:
            return render(request, "hop/refused.html", {"message": str(refusal)}, status=403)
        hop_session_start(request, hop=hop, group_session=group_session)
        return redirect("home")


class HopReturnView(SitePageView):
    """School site: “Return to <group>” in the hop's banner. Ends the hop here (recorded at
    both sites), signs out of the school, and goes back to the group's Log in to MIS page,
    which says that the school session has ended. Outside a hop: the school's home."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": None}

    def post(self, request):
        group = getattr(request, "hop_group", None)
        if group is None:
            return redirect("home")
        school = request.site
        hop_end(
            actor=actor_from_request(request),
            school=school,
            group=group,
            reason=f"Returned to {group.name}.",
        )
        request.hop_group = None  # recorded: signing out below is no second end
        logout(request)
        back = f"{group.url.removesuffix('/')}{reverse('hop:choose')}"
        return redirect(f"{back}?returned={school.pk}")
