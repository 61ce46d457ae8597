"""Group site: Institutions > Data Sharing Agreements.

Three tabs (No Agreement, Pending, Approved) over the group's schools, searched and
filtered as in Browse Institutions; every view lives in the query string. Any member of the
group's staff may look; acting (send, remind, withdraw, raise) needs Institution:
Administer Institution Details at Administer.

Bulk actions carry their selection as ticked URNs (or request ids on the Pending tab), or
as the search and filters plus ``all=1`` for every matching school across pages. Each
action opens in a slide-over (htmx) and is also a page of its own without JavaScript:
``/data-sharing/send/?…``; after it, a per-school summary at ``/data-sharing/result/``.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from accounts.audit import actor_from_request
from accounts.permissions import INSTITUTION_DETAILS, REGISTRY, Access, request_has_permission
from accounts.staff.selectors import staff_profile_for
from institutions.browsing import browse_query, facet_groups, sortable_columns
from institutions.selectors import (
    cluster_choices,
    group_school_type_names,
    schools_for_selection,
)
from matmis.exports import ExportPage, export_links, export_response
from matmis.listing import (
    is_htmx,
    list_page,
    page_param,
    pagination,
    query_string,
    wants_fragment,
)
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .exports import agreements_table
from .forms import AgreementsForm, Selection, SendForm, selection_parse
from .models import LEVEL_MEANINGS, AccessLevel
from .rules import requestable_levels
from .selectors import (
    TAB_APPROVED,
    TAB_NONE,
    TAB_PENDING,
    TABS,
    EligiblePerson,
    agreement_tab_counts,
    agreement_tab_facets,
    agreement_tab_schools,
    approved_levels,
    delivery_summaries,
    eligible_people,
    ended_agreements,
    group_senders,
    pending_requests,
    recipients_preview,
    requests_for_selection,
    tab_school_list,
)
from .services.outcomes import BulkAction, BulkOutcome
from .services.requests import (
    agreement_requests_remind,
    agreement_requests_send,
    agreement_requests_withdraw,
)

PAGE_SIZE = 50
# The send form's "Update the preview" button (without JavaScript).
PREVIEW_BUTTON = "preview"
ACT = (INSTITUTION_DETAILS, Access.ADMINISTER)
ACT_LABEL = REGISTRY[INSTITUTION_DETAILS].label
OUTCOME_SESSION_KEY = "sharing_bulk_outcome"
DEFAULT_ROLES = ["Head Teacher"]
# The send form lists at most this many people to choose by name (besides those chosen);
# a search by name narrows the list.
PEOPLE_SHOWN = 100


class AgreementsPageView(SitePageView):
    """A page of Data Sharing Agreements that any staff member of the group may see."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}


class AgreementsActionView(SitePageView):
    """A bulk action on data sharing agreements: needs Institution: Administer Institution
    Details at Administer, to open its form as well as to act."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": ACT, "POST": ACT}


def _may_act(request: HttpRequest) -> bool:
    return request_has_permission(request, *ACT)


def _filter_lists(group):
    """What the search and filter form needs to understand the query: two queries."""
    return group_school_type_names(group=group), list(cluster_choices(group=group))


# --- The page ------------------------------------------------------------------------------


def _agreements_form(request: HttpRequest) -> AgreementsForm:
    """The page's query string as understood: unknown values are reported by the form and
    left out; the rest still apply."""
    type_names, clusters = _filter_lists(request.site)
    form = AgreementsForm(request.GET, type_names=type_names, clusters=clusters)
    form.is_valid()
    return form


class AgreementsView(AgreementsPageView):
    """The tabs, the search and filters, the table and the bulk actions."""

    def get(self, request: HttpRequest) -> HttpResponse:
        group = request.site
        form = _agreements_form(request)
        filters, sort, tab = form.filters(), form.sort_key(), form.tab_key()
        counts = agreement_tab_counts(group=group, **filters)
        overall = agreement_tab_counts(group=group) if form.is_filtered() else counts
        schools = agreement_tab_schools(group=group, tab=tab, sort=sort, **filters)
        page = list_page(request, schools, per_page=PAGE_SIZE)
        rows = list(page.object_list)
        if tab == TAB_PENDING:
            deliveries = delivery_summaries(
                group=group, request_ids=[s.pending_request_id for s in rows]
            )
            for school in rows:
                school.delivery = deliveries.get(school.pending_request_id)
        query = browse_query(form)
        query["tab"] = tab
        filter_query = query.copy()
        filter_query.pop("sort", None)
        filter_query.pop("tab", None)
        can_act = _may_act(request)
        # "Select all N matching": the page again with every row ticked (across pages,
        # so the page links keep it); changing the tab or a filter starts afresh.
        all_selected = can_act and request.GET.get("all") == "1" and page.paginator.count > 0
        selection_query = query.copy()
        if all_selected:
            query["all"] = "1"
        context = {
            "form": form,
            "tab": tab,
            "tab_label": TABS[tab],
            "clear_url": reverse("sharing:agreements") + (f"?tab={tab}" if tab != TAB_NONE else ""),
            "tabs": [
                {
                    "key": key,
                    "label": label,
                    "count": counts.of(key),
                    "url": query_string(selection_query, tab=key, page=None),
                    "selected": key == tab,
                }
                for key, label in TABS.items()
            ],
            "counts": counts,
            "overall": overall,
            "facet_groups": facet_groups(
                form, agreement_tab_facets(group=group, tab=tab, **filters)
            ),
            "page": page,
            "rows": rows,
            **pagination(query, page),
            "columns": sortable_columns(query, sort),
            "sort": form.cleaned_data.get("sort", ""),
            "search": filters["search"],
            "is_filtered": form.is_filtered(),
            "filter_fields": [
                (key, value) for key in filter_query for value in filter_query.getlist(key)
            ],
            "can_act": can_act,
            "all_selected": all_selected,
            "select_all_url": query_string(selection_query, all="1", page=None),
            "clear_selection_url": query_string(selection_query, page=page_param(page.number)),
            "act_label": ACT_LABEL,
            "level_meanings": [(level.label, LEVEL_MEANINGS[level]) for level in AccessLevel],
            "exports": export_links("sharing:agreements-export", query),
        }
        fragment = wants_fragment(request)
        template = "sharing/_agreements_fragment.html" if fragment else "sharing/agreements.html"
        response = render(request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        if fragment:
            address = query_string(query, page=page_param(page.number))
            response["HX-Push-Url"] = request.path + address
        return response


class AgreementsExportView(ExportPage, AgreementsPageView):
    """/data-sharing/export.csv and .xlsx: the schools of the tab the query string names
    (No Agreement unless ``tab``), with the page's search, filters and sort, all pages."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = _agreements_form(request)
        table = agreements_table(
            group=request.site, tab=form.tab_key(), sort=form.sort_key(), filters=form.filters()
        )
        return export_response(table, site=request.site, export_format=self.export_format)


# --- Selections ------------------------------------------------------------------------------


def _selection(request: HttpRequest, data: QueryDict) -> Selection:
    type_names, clusters = _filter_lists(request.site)
    return selection_parse(data, type_names=type_names, clusters=clusters)


def _selected_schools(request: HttpRequest, selection: Selection) -> list:
    """The schools a send applies to. Ticked URNs must all be the group's current
    schools: any other is answered 404, like a school that does not exist."""
    group = request.site
    if selection.all_matching:
        tab = selection.tab if selection.tab != TAB_PENDING else TAB_NONE
        return list(tab_school_list(group=group, tab=tab, **selection.filters))
    return schools_for_selection(group=group, urns=selection.urns)


def _selected_requests(request: HttpRequest, selection: Selection) -> list:
    """The requests a reminder or withdrawal applies to; another group's id is a 404."""
    group = request.site
    if selection.all_matching:
        return list(pending_requests(group=group, **selection.filters))
    return requests_for_selection(group=group, request_ids=selection.request_ids)


def _back_url(selection: Selection, tab: str | None = None) -> str:
    query = selection.query.copy()
    query["tab"] = tab or selection.tab
    return reverse("sharing:agreements") + "?" + query.urlencode()


def _done(request: HttpRequest, outcome: BulkOutcome, selection: Selection) -> HttpResponse:
    """Keep the outcome for its summary page and go there (htmx: by HX-Redirect)."""
    data = outcome.as_dict()
    data["back"] = _back_url(
        selection, TAB_NONE if outcome.action == BulkAction.WITHDRAW else TAB_PENDING
    )
    request.session[OUTCOME_SESSION_KEY] = data  # the summary page says what happened
    url = reverse("sharing:result")
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _bulk_render(request: HttpRequest, page: str, panel: str, context: dict) -> HttpResponse:
    """The action as a slide-over panel (htmx) or as a page of its own."""
    in_panel = is_htmx(request)
    context["in_panel"] = in_panel
    response = render(request, panel if in_panel else page, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Send (and raise) ----------------------------------------------------------------------


class SendView(AgreementsActionView):
    """Send data sharing requests (No Agreement), or a higher level (Approved)."""

    page_template = "sharing/send.html"
    panel_template = "sharing/_send_panel.html"

    def _context(self, request, selection, schools, form) -> dict:
        group = request.site
        return {
            **_recipients_context(group, schools, form),
            "selection": selection,
            "selection_fields": selection.hidden_fields(),
            "schools": schools,
            "form": form,
            "raising": selection.tab == TAB_APPROVED,
            "back_url": _back_url(selection),
            "title": (
                "Request a higher access level"
                if selection.tab == TAB_APPROVED
                else "Send data sharing requests"
            ),
        }

    def _form(self, request, data, selection, schools) -> SendForm:
        levels = _levels(request.site, selection, schools)
        senders = group_senders(group=request.site)
        if data is not None:
            return SendForm(data, senders=senders, levels=levels)
        own = staff_profile_for(site=request.site, user=request.user)
        initial = {"roles": DEFAULT_ROLES}
        if own is not None and request.user.email:
            initial["sender"] = own.pk
        if len(levels) == 1:
            initial["level"] = int(levels[0])
        return SendForm(senders=senders, levels=levels, initial=initial)

    def get(self, request: HttpRequest) -> HttpResponse:
        selection = _selection(request, request.GET)
        schools = _selected_schools(request, selection)
        # A level and roles in the address (a link from before the preview was a POST)
        # fill the form in.
        data = request.GET if "level" in request.GET or "roles" in request.GET else None
        form = self._form(request, data, selection, schools)
        if data is not None:
            form.errors.clear()  # a preview is not a submission
        context = self._context(request, selection, schools, form)
        return _bulk_render(request, self.page_template, self.panel_template, context)

    def post(self, request: HttpRequest) -> HttpResponse:
        selection = _selection(request, request.POST)
        schools = _selected_schools(request, selection)
        form = self._form(request, request.POST, selection, schools)
        if PREVIEW_BUTTON in request.POST:
            # "Update the preview" without JavaScript: the form back with its preview, and
            # nothing sent (a POST, so the form's CSRF token stays out of the address).
            form.errors.clear()
        elif not schools:
            form.add_error(None, "Choose at least one school.")
        elif form.is_valid():
            try:
                outcome = agreement_requests_send(
                    group=request.site,
                    schools=schools,
                    sender=form.cleaned_data["sender"],
                    recipient_roles=form.roles_chosen(),
                    named_recipients=form.people_chosen(),
                    level=form.cleaned_data["level"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                _send_refused(form, error)
            else:
                return _done(request, outcome, selection)
        context = self._context(request, selection, schools, form)
        return _bulk_render(request, self.page_template, self.panel_template, context)


# The service's names for what the form calls ``roles`` and ``people``.
_SEND_FIELDS = {"recipient_roles": "roles", "named_recipients": "people"}


def _send_refused(form: SendForm, error: ValidationError) -> None:
    """The service's refusal on the form: each message beside the field it is about."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        field = _SEND_FIELDS.get(name, name)
        form.add_error(field if field in form.fields else None, messages)


@dataclass(frozen=True)
class PeopleChoice:
    """One person the send form offers to choose by name."""

    person: EligiblePerson
    checked: bool


def _people_picker(group, schools: list, form: SendForm) -> dict:
    """The people who may be chosen by name at the chosen schools, matching the form's
    search (and always those ticked), grouped by school; at most ``PEOPLE_SHOWN``
    besides those ticked. Two queries."""
    chosen = set(form.people_chosen())
    search = form.people_search_text().casefold()
    people = eligible_people(group=group, schools=schools) if schools else []
    matching = [
        p
        for p in people
        if p.profile_id in chosen
        or not search
        or search in p.name.casefold()
        or search in p.email.casefold()
    ]
    shown = [p for p in matching if p.profile_id in chosen]
    shown += [p for p in matching if p.profile_id not in chosen][:PEOPLE_SHOWN]
    by_school: dict[int, list[PeopleChoice]] = {}
    names: dict[int, str] = {}
    shown_ids = {p.profile_id for p in shown}
    for person in (p for p in people if p.profile_id in shown_ids):  # the lookup's order
        names[person.school.pk] = person.school.name
        by_school.setdefault(person.school.pk, []).append(
            PeopleChoice(person, person.profile_id in chosen)
        )
    return {
        "people_groups": [(names[pk], choices) for pk, choices in by_school.items()],
        "people_total": len(people),
        "people_matching": len(matching),
        "people_more": max(0, len(matching) - len(shown)),
        "people_search": form.people_search_text(),
    }


def _recipients_context(group, schools: list, form: SendForm) -> dict:
    """The preview and the people picker of a send form, as the form stands."""
    roles = form.roles_chosen()
    named = form.people_chosen()
    preview = (
        recipients_preview(
            group=group, schools=schools, roles=roles, level=form.level_chosen(), named=named
        )
        if schools and (roles or named)
        else None
    )
    return {"preview": preview, **_people_picker(group, schools, form)}


def _levels(group, selection: Selection, schools: list) -> list[AccessLevel]:
    """Levels a send may ask for (``rules.requestable_levels``): on the Approved tab only
    those above the lowest level among the chosen schools."""
    if selection.tab != TAB_APPROVED:
        return requestable_levels()
    return requestable_levels(approved_levels(group=group, schools=schools))


class SendPreviewView(AgreementsActionView):
    """The preview region of the send panel, as level and roles change (htmx)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        selection = _selection(request, request.GET)
        schools = _selected_schools(request, selection)
        levels = _levels(request.site, selection, schools)
        form = SendForm(request.GET, senders=group_senders(group=request.site), levels=levels)
        roles, named = form.roles_chosen(), form.people_chosen()
        preview = (
            recipients_preview(
                group=request.site,
                schools=schools,
                roles=roles,
                level=form.level_chosen(),
                named=named,
            )
            if schools and (roles or named)
            else None
        )
        return render(
            request,
            "sharing/_send_preview.html",
            {"preview": preview, "form": form, "schools": schools},
        )


class SendPeopleView(AgreementsActionView):
    """The list of people to choose by name in the send form, as the search by name
    changes (htmx); without JavaScript the form's "Find people" button posts the form back
    with the same list."""

    def get(self, request: HttpRequest) -> HttpResponse:
        selection = _selection(request, request.GET)
        schools = _selected_schools(request, selection)
        levels = _levels(request.site, selection, schools)
        form = SendForm(request.GET, senders=group_senders(group=request.site), levels=levels)
        context = {"form": form, **_people_picker(request.site, schools, form)}
        return render(request, "sharing/_send_people_list.html", context)


# --- Remind and withdraw ---------------------------------------------------------------------


class _RequestsActionView(AgreementsActionView):
    action: BulkAction
    title: str
    button: str
    page_template = "sharing/confirm.html"
    panel_template = "sharing/_confirm_panel.html"

    def _context(self, request, selection, requests, error=None) -> dict:
        return {
            "selection": selection,
            "selection_fields": selection.hidden_fields(),
            "requests": requests,
            "action": self.action.value,
            "title": self.title,
            "button": self.button,
            "error": error,
            "back_url": _back_url(selection),
            "post_url": request.path,
        }

    def _refused(self, request, selection) -> HttpResponse:
        """A selection holding values that are not requests (or filters): 400, nothing
        done, rather than acting on what is left of it."""
        error = " ".join([*selection.problems, "Nothing was done."])
        context = self._context(request, selection, [], error=error)
        response = _bulk_render(request, self.page_template, self.panel_template, context)
        response.status_code = 400
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        selection = _selection(request, request.GET)
        if selection.problems:
            return self._refused(request, selection)
        requests = _selected_requests(request, selection)
        context = self._context(request, selection, requests)
        return _bulk_render(request, self.page_template, self.panel_template, context)

    def post(self, request: HttpRequest) -> HttpResponse:
        selection = _selection(request, request.POST)
        if selection.problems:
            return self._refused(request, selection)
        requests = _selected_requests(request, selection)
        if not requests:
            context = self._context(
                request, selection, requests, error="Choose at least one pending request."
            )
            return _bulk_render(request, self.page_template, self.panel_template, context)
        outcome = self.act(request, requests)
        return _done(request, outcome, selection)

    def act(self, request, requests) -> BulkOutcome:
        raise NotImplementedError


class RemindView(_RequestsActionView):
    action = BulkAction.REMIND
    title = "Send reminders"
    button = "Send reminders"

    def act(self, request, requests) -> BulkOutcome:
        return agreement_requests_remind(
            group=request.site, requests=requests, actor=actor_from_request(request)
        )


class WithdrawView(_RequestsActionView):
    action = BulkAction.WITHDRAW
    title = "Withdraw requests"
    button = "Withdraw requests"

    def act(self, request, requests) -> BulkOutcome:
        return agreement_requests_withdraw(
            group=request.site, requests=requests, actor=actor_from_request(request)
        )


# --- Agreements that ended (history) ---------------------------------------------------------


class EndedAgreementsView(AgreementsPageView):
    """The group's agreements that ended when their school left the group: history, which
    grants nothing. Any staff member of the group may look, as at the tabs."""

    def get(self, request: HttpRequest) -> HttpResponse:
        page = list_page(request, ended_agreements(group=request.site), per_page=PAGE_SIZE)
        return render(
            request,
            "sharing/ended.html",
            {
                "page": page,
                "rows": list(page.object_list),
                "page_range": page.paginator.get_elided_page_range(page.number),
                "label": "Pages of ended agreements",
            },
        )


# --- The summary after an action ------------------------------------------------------------


class ResultView(AgreementsPageView):
    """What the last bulk action did, school by school."""

    def get(self, request: HttpRequest) -> HttpResponse:
        data = request.session.get(OUTCOME_SESSION_KEY)
        if not data:
            return redirect("sharing:agreements")
        outcome = BulkOutcome.from_dict(data)
        return render(
            request,
            "sharing/result.html",
            {
                "outcome": outcome,
                "action_label": BulkAction(outcome.action).label,
                "level_label": AccessLevel(outcome.level).label if outcome.level else "",
                "back_url": data.get("back") or reverse("sharing:agreements"),
                "skip_groups": [
                    (reason, [row for row in outcome.skipped if row.reason == reason])
                    for reason, _ in outcome.skip_reasons()
                ],
            },
        )
