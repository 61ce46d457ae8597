"""School site, Data > Data Sharing: the school's agreements and requests, and a request's
page with Approve and Decline.

A recipient who is not the right person, or anyone who may decide, forwards a pending
request to a colleague holding a recipient role ("Not you? Send it to a colleague", a POST
from the request's page; ``services.forwarding``).

The emailed link leads to a request's page. It only locates the request: a visitor who is
not signed in is sent to sign in and back; a GET never changes anything; approving and
declining are POSTs after a confirmation step, and need ``Data Sharing Request`` at
Administer (Head Teacher by default). A group site has none of these pages (404).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.audit import actor_from_request
from accounts.permissions import (
    DATA_SHARING_REQUEST,
    REGISTRY,
    Access,
    request_has_permission,
)
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from ..access import agreement_level
from ..models import AccessLevel, AgreementRequest, RequestStatus
from ..services.decisions import Decision, agreement_request_approve, agreement_request_decline
from ..services.forwarding import agreement_request_forward, may_forward
from .forms import SchoolRequestDeclineForm
from .selectors import (
    ALWAYS_VISIBLE,
    forward_candidates,
    level_explanation,
    request_recipient_list,
    school_agreement_list,
    school_request_approvers,
    school_request_for_id,
    school_request_list,
)

DECIDE = (DATA_SHARING_REQUEST, Access.ADMINISTER)
DECIDE_LABEL = REGISTRY[DATA_SHARING_REQUEST].label


class SchoolSharingPageView(SitePageView):
    """Any staff member of the school may look."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": None}


class SchoolSharingDecideView(SitePageView):
    """Approve or decline: needs Data Sharing Request at Administer."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": DECIDE, "POST": DECIDE}


def _may_decide(request) -> bool:
    return request_has_permission(request, *DECIDE)


def approved_message(request: AgreementRequest) -> str:
    explanation = level_explanation(request.level)
    return (
        f"Approved. {request.group.name} can now see “{explanation.label}” for "
        f"{request.school.name}: {explanation.allows} This is final: the level cannot be "
        "lowered."
    )


def declined_message(request: AgreementRequest) -> str:
    return (
        f"Declined. {request.group.name}’s request for “{AccessLevel(request.level).label}” "
        "was declined; nothing is shared because of it."
    )


class SharingOverviewView(SchoolSharingPageView):
    """Data > Data Sharing: agreements, then requests (pending first, then history)."""

    def get(self, request):
        school = request.site
        requests = list(school_request_list(school=school))
        agreements = list(school_agreement_list(school=school))
        return render(
            request,
            "sharing/school/index.html",
            {
                "agreements": [a for a in agreements if not a.has_ended],
                "ended_agreements": [a for a in agreements if a.has_ended],
                "pending": [r for r in requests if r.status == RequestStatus.PENDING],
                "history": [r for r in requests if r.status != RequestStatus.PENDING],
                "may_decide": _may_decide(request),
                "decide_label": DECIDE_LABEL,
            },
        )


def _request_context(request, sharing_request: AgreementRequest, forward_error: str = "") -> dict:
    school = request.site
    may_decide = _may_decide(request)
    current = agreement_level(group=sharing_request.group, school=school)
    is_pending = sharing_request.status == RequestStatus.PENDING
    offer_forward = is_pending and may_forward(
        actor=actor_from_request(request), request=sharing_request
    )
    return {
        "recipients": request_recipient_list(request=sharing_request),
        "may_forward": offer_forward,
        "colleagues": (
            forward_candidates(request=sharing_request, user=request.user) if offer_forward else []
        ),
        "forward_error": forward_error,
        "sharing_request": sharing_request,
        "explanation": level_explanation(sharing_request.level),
        "current_level": level_explanation(current) if current else None,
        "always_visible": ALWAYS_VISIBLE,
        "is_pending": sharing_request.status == RequestStatus.PENDING,
        "may_decide": may_decide,
        "decide_label": DECIDE_LABEL,
        "approvers": [] if may_decide else school_request_approvers(school=school),
    }


class RequestDetailView(SchoolSharingPageView):
    """One request: who asked, for what, what it means, its status; Approve and Decline
    for those who may decide."""

    def get(self, request, request_id: int):
        sharing_request = school_request_for_id(school=request.site, request_id=request_id)
        return render(
            request,
            "sharing/school/request_detail.html",
            _request_context(request, sharing_request),
        )


class _DecisionView(SchoolSharingDecideView):
    """GET: the confirmation step. POST: the decision. Only a pending request."""

    decision: str  # "approve" or "decline"

    def _pending_or_redirect(self, request, request_id):
        sharing_request = school_request_for_id(school=request.site, request_id=request_id)
        if sharing_request.status != RequestStatus.PENDING:
            messages.info(
                request,
                f"This request is already {sharing_request.get_status_display().lower()}; "
                "there is nothing to decide.",
            )
            return sharing_request, redirect(_detail_url(sharing_request))
        return sharing_request, None

    def _confirm(self, request, sharing_request, form=None, status=200):
        context = _request_context(request, sharing_request)
        context.update({"decision": self.decision, "form": form})
        return render(request, "sharing/school/request_confirm.html", context, status=status)


def _detail_url(sharing_request: AgreementRequest) -> str:
    return reverse("school_sharing:request", args=[sharing_request.pk])


class RequestApproveView(_DecisionView):
    decision = "approve"

    def get(self, request, request_id: int):
        sharing_request, done = self._pending_or_redirect(request, request_id)
        return done or self._confirm(request, sharing_request)

    def post(self, request, request_id: int):
        sharing_request, done = self._pending_or_redirect(request, request_id)
        if done:
            return done
        try:
            outcome = agreement_request_approve(
                request=sharing_request, actor=actor_from_request(request)
            )
        except (ValidationError, ValueError) as error:
            messages.error(request, _refusal(error))
            return redirect(_detail_url(sharing_request))
        if outcome.decision == Decision.APPROVED:
            messages.success(request, approved_message(sharing_request))
        else:  # superseded meanwhile, or approved already: the service says what happened
            messages.info(request, outcome.message)
        return redirect(_detail_url(sharing_request))


class RequestDeclineView(_DecisionView):
    decision = "decline"

    def get(self, request, request_id: int):
        sharing_request, done = self._pending_or_redirect(request, request_id)
        return done or self._confirm(request, sharing_request, SchoolRequestDeclineForm())

    def post(self, request, request_id: int):
        sharing_request, done = self._pending_or_redirect(request, request_id)
        if done:
            return done
        form = SchoolRequestDeclineForm(request.POST)
        if not form.is_valid():
            return self._confirm(request, sharing_request, form, status=400)
        try:
            outcome = agreement_request_decline(
                request=sharing_request,
                actor=actor_from_request(request),
                reason=form.cleaned_data["reason"],
            )
        except (ValidationError, ValueError) as error:
            messages.error(request, _refusal(error))
            return redirect(_detail_url(sharing_request))
        if outcome.decision == Decision.DECLINED:
            messages.success(request, declined_message(sharing_request))
        else:
            messages.info(request, outcome.message)
        return redirect(_detail_url(sharing_request))


def _refusal(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


class RequestForwardView(SitePageView):
    """POST: forward the request to a colleague ("Not you? Send it to a colleague" on the
    request's page); GET leads back to that page. Only a recipient of the request or
    someone who may decide it may (the service's rule: 403 otherwise)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": None, "POST": None}

    def get(self, request, request_id: int):
        sharing_request = school_request_for_id(school=request.site, request_id=request_id)
        return redirect(_detail_url(sharing_request) + "#forward")

    def post(self, request, request_id: int):
        sharing_request = school_request_for_id(school=request.site, request_id=request_id)
        actor = actor_from_request(request)
        if not may_forward(actor=actor, request=sharing_request):
            raise PermissionDenied("Only a recipient or someone who may decide can forward it.")
        try:
            recipient = agreement_request_forward(
                request=sharing_request, to_profile_id=request.POST.get("to"), actor=actor
            )
        except ValidationError as error:
            if sharing_request.status != RequestStatus.PENDING:  # no form to show it beside
                messages.error(request, _refusal(error))
                return redirect(_detail_url(sharing_request))
            context = _request_context(request, sharing_request, forward_error=_refusal(error))
            return render(request, "sharing/school/request_detail.html", context, status=400)
        messages.success(
            request,
            f"Sent to {recipient.user.display_name} ({recipient.role_name}). They will get an "
            "email with a link to this request.",
        )
        return redirect(_detail_url(sharing_request))
