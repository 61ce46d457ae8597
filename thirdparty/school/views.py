"""School site, Data > Apps: the education apps that asked for the school's data or may
read it, for holders of "Third-party Apps: Administer" (Head Teacher and Data Manager by
default). A group site has none of these pages (404).

A request's page shows each scope with its fields: Required (ticked and locked) and
Optional (unticked unless already granted: the school opts in). Authorising and declining
take a confirmation step; every change is a POST (a GET changes nothing); a grant that
drops a required scope or adds one the app did not ask for is refused with a 400 and
stores nothing. A grant in force can have its optional scopes changed in place, or be
revoked (the app's next call is refused)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts.audit import actor_from_request
from accounts.permissions import THIRD_PARTY_APPS, Access
from matmis.exports import Column, ExportPage, Table, export_links, export_response
from matmis.listing import list_page
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from ..models import AuthorisationStatus, RequestOrigin, RequestStatus
from ..scopes import SCOPES
from ..selectors import (
    app_directory,
    app_for_id,
    school_app_calls,
    school_authorisation_for_id,
    school_authorisations,
    school_decisions,
    school_pending_requests,
    school_request_for_id,
)
from ..services import (
    access_request_open,
    authorisation_change,
    authorisation_revoke,
    grant_clean,
    request_authorise,
    request_decline,
)

ADMINISTER = (THIRD_PARTY_APPS, Access.ADMINISTER)
ACTIVITY_PER_PAGE = 50


class SchoolAppsView(SitePageView):
    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": ADMINISTER}


class SchoolAppsDecideView(SitePageView):
    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": ADMINISTER, "POST": ADMINISTER}


class SchoolAppsWriteView(SitePageView):
    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": ADMINISTER}


def scope_rows(*, required, optional, ticked) -> list[dict]:
    """Each scope of a request or grant, with its fields, as the pages show them."""
    rows = [
        {"scope": SCOPES[code], "required": True, "ticked": True}
        for code in required
        if code in SCOPES
    ]
    rows += [
        {"scope": SCOPES[code], "required": False, "ticked": code in ticked}
        for code in optional
        if code in SCOPES
    ]
    return rows


def _refusal(error: ValidationError) -> str:
    return " ".join(error.messages)


class AppsIndexView(SchoolAppsView):
    """Data > Apps: requests waiting, apps authorised, the directory, recent decisions."""

    def get(self, request):
        school = request.site
        authorisations = list(school_authorisations(school=school))
        return render(
            request,
            "thirdparty/school/index.html",
            {
                "pending": list(school_pending_requests(school=school)),
                "authorised": [a for a in authorisations if a.is_active],
                "revoked": [a for a in authorisations if not a.is_active],
                "directory": list(app_directory(school=school)),
                "decisions": school_decisions(school=school, limit=20),
            },
        )


def _request_context(request, data_request, *, ticked=None, errors=None) -> dict:
    current = next(
        (
            a
            for a in school_authorisations(school=request.site)
            if a.app_id == data_request.app_id and a.is_active
        ),
        None,
    )
    if ticked is None:
        ticked = set(current.optional_scopes) if current is not None else set()
    return {
        "data_request": data_request,
        "app": data_request.app,
        "current": current,
        "is_pending": data_request.status == RequestStatus.PENDING,
        "rows": scope_rows(
            required=data_request.required_scopes,
            optional=data_request.optional_scopes,
            ticked=ticked,
        ),
        "errors": errors or [],
    }


class RequestDetailView(SchoolAppsView):
    def get(self, request, app_request_id):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        return render(
            request, "thirdparty/school/request.html", _request_context(request, data_request)
        )


class RequestAuthoriseView(SchoolAppsDecideView):
    """POST without ``confirmed``: the confirmation step (nothing stored). POST with it:
    the decision. GET: back to the request (a GET changes nothing)."""

    def get(self, request, app_request_id):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        return redirect("school_apps:request", data_request.pk)

    def post(self, request, app_request_id):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        if data_request.status != RequestStatus.PENDING:
            messages.info(request, "This request is already decided: nothing changed.")
            return redirect("school_apps:request", data_request.pk)
        required = request.POST.getlist("required_scopes")
        optional = request.POST.getlist("optional_scopes")
        try:
            granted_optional = grant_clean(
                request=data_request, required_scopes=required, optional_scopes=optional
            )
        except ValidationError as error:
            context = _request_context(
                request, data_request, ticked=set(optional), errors=error.messages
            )
            return render(request, "thirdparty/school/request.html", context, status=400)
        if request.POST.get("confirmed") != "yes":
            context = _request_context(request, data_request, ticked=set(granted_optional))
            context["granted_optional"] = granted_optional
            context["granted"] = [
                SCOPES[c] for c in [*data_request.required_scopes, *granted_optional]
            ]
            return render(request, "thirdparty/school/authorise_confirm.html", context)
        try:
            authorisation = request_authorise(
                request=data_request,
                required_scopes=required,
                optional_scopes=granted_optional,
                actor=actor_from_request(request),
            )
        except ValidationError as error:
            messages.error(request, _refusal(error))
            return redirect("school_apps:request", data_request.pk)
        messages.success(
            request,
            f"Authorised. {data_request.app.name} may now read "
            + ", ".join(SCOPES[c].label for c in authorisation.scopes)
            + f" from {request.site.name}. A receipt was sent.",
        )
        return redirect("school_apps:authorisation", authorisation.pk)


class RequestDeclineView(SchoolAppsDecideView):
    def get(self, request, app_request_id):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        if data_request.status != RequestStatus.PENDING:
            return redirect("school_apps:request", data_request.pk)
        return render(
            request,
            "thirdparty/school/decline_confirm.html",
            _request_context(request, data_request),
        )

    def post(self, request, app_request_id):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        try:
            request_decline(request=data_request, actor=actor_from_request(request))
        except ValidationError as error:
            messages.error(request, _refusal(error))
            return redirect("school_apps:request", data_request.pk)
        messages.success(
            request,
            f"Declined. {data_request.app.name} gets nothing more from {request.site.name} "
            "because of this request. A receipt was sent.",
        )
        return redirect("school_apps:index")


class AuthorisationDetailView(SchoolAppsView):
    def get(self, request, authorisation_id):
        authorisation = school_authorisation_for_id(
            school=request.site, authorisation_id=authorisation_id
        )
        return render(
            request,
            "thirdparty/school/authorisation.html",
            {
                "authorisation": authorisation,
                "app": authorisation.app,
                "rows": scope_rows(
                    required=authorisation.required_scopes,
                    optional=authorisation.offered_optional,
                    ticked=set(authorisation.optional_scopes),
                ),
                "calls": list(
                    school_app_calls(school=request.site, app_id=authorisation.app_id)[:10]
                ),
            },
        )


class AuthorisationChangeView(SchoolAppsWriteView):
    def post(self, request, authorisation_id):
        authorisation = school_authorisation_for_id(
            school=request.site, authorisation_id=authorisation_id
        )
        try:
            authorisation_change(
                authorisation=authorisation,
                optional_scopes=request.POST.getlist("optional_scopes"),
                actor=actor_from_request(request),
            )
        except ValidationError as error:
            messages.error(request, _refusal(error))
            return redirect("school_apps:authorisation", authorisation.pk)
        messages.success(request, "Optional scopes changed. A receipt was sent.")
        return redirect("school_apps:authorisation", authorisation.pk)


class AuthorisationRevokeView(SchoolAppsDecideView):
    def get(self, request, authorisation_id):
        authorisation = school_authorisation_for_id(
            school=request.site, authorisation_id=authorisation_id
        )
        if authorisation.status != AuthorisationStatus.ACTIVE:
            return redirect("school_apps:authorisation", authorisation.pk)
        return render(
            request, "thirdparty/school/revoke_confirm.html", {"authorisation": authorisation}
        )

    def post(self, request, authorisation_id):
        authorisation = school_authorisation_for_id(
            school=request.site, authorisation_id=authorisation_id
        )
        try:
            authorisation_revoke(authorisation=authorisation, actor=actor_from_request(request))
        except ValidationError as error:
            messages.error(request, _refusal(error))
            return redirect("school_apps:authorisation", authorisation.pk)
        messages.success(
            request,
            f"Revoked. {authorisation.app.name} can read nothing more from "
            f"{request.site.name}. A receipt was sent.",
        )
        return redirect("school_apps:index")


class AppConnectView(SchoolAppsWriteView):
    """From the directory: the school starts a request for an app's scopes, then decides."""

    def post(self, request, app_id):
        app = app_for_id(app_id=app_id)
        try:
            outcome = access_request_open(
                app=app,
                school=request.site,
                origin=RequestOrigin.SCHOOL,
                actor=actor_from_request(request),
            )
        except ValidationError as error:
            messages.error(request, _refusal(error))
            return redirect("school_apps:index")
        if outcome.request is None:
            messages.info(request, outcome.message)
            return redirect("school_apps:index")
        return redirect("school_apps:request", outcome.request.pk)


class ActivityView(SchoolAppsView):
    """Every call the school's apps made, newest first."""

    def get(self, request):
        page = list_page(request, school_app_calls(school=request.site), per_page=ACTIVITY_PER_PAGE)
        return render(
            request,
            "thirdparty/school/activity.html",
            {
                "page": page,
                "page_range": page.paginator.get_elided_page_range(
                    page.number, on_each_side=1, on_ends=1
                ),
                "query": "",
                "exports": export_links("school_apps:activity-export", request.GET),
            },
        )


def activity_table(school) -> Table:
    """The access log as a file: every call, newest first."""
    return Table(
        subject="app-activity",
        columns=[
            Column("Time", lambda call: call.at),
            Column("App", lambda call: call.app.name),
            Column("Vendor", lambda call: call.app.vendor),
            Column("Endpoint", lambda call: call.endpoint),
            Column("Scopes", lambda call: ", ".join(call.scopes)),
            Column("Records", lambda call: call.records),
            Column("Answer", lambda call: call.status_code),
        ],
        rows=school_app_calls(school=school).iterator(chunk_size=2000),
    )


class ActivityExportView(ExportPage, SchoolAppsView):
    def get(self, request):
        return export_response(
            activity_table(request.site), site=request.site, export_format=self.export_format
        )
