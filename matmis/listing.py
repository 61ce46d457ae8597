"""What list pages share: query strings that keep the view, numbered pagination, filter
groups with counts, and telling an htmx request for a fragment from a whole page.

A list page keeps its whole state in the query string, so any view can be bookmarked and
shared; links change one key (``query_string``) and keep the rest.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, QueryDict


def query_string(query: QueryDict, **changes) -> str:
    """``query`` with ``changes`` (None removes a key), from "?"."""
    query = query.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def page_param(number: int) -> int | None:
    """Page 1 is the view without a page number: one address per view."""
    return number if number > 1 else None


def past_the_end_message(num_pages: int) -> str:
    if num_pages == 1:
        return "There is only 1 page; showing it."
    return f"There are only {num_pages:,} pages; showing the last."


def list_page(request: HttpRequest, items, *, per_page: int) -> Page:
    """The page of ``items`` the query string's ``page`` asks for, the one way every list
    page reads it: no number, or anything but a whole number, is the first page; a number
    past the end is the last page, and the person is told so (a message on the page, not
    a silent jump) unless the request only swaps the results in place."""
    paginator = Paginator(items, per_page)
    asked = request.GET.get("page", "")
    # ASCII digits only ("²" passes isdigit() and breaks int()); long enough for any list.
    if not (asked.isascii() and asked.isdecimal() and len(asked) <= 12) or int(asked) < 1:
        return paginator.page(1)
    number = int(asked)
    if number > paginator.num_pages:
        if not wants_fragment(request):
            messages.info(request, past_the_end_message(paginator.num_pages))
        return paginator.page(paginator.num_pages)
    return paginator.page(number)


def page_links(query: QueryDict, page) -> list[dict]:
    """GOV.UK pagination items: numbers (with ellipses) linking to the same view."""
    items = []
    for number in page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1):
        if number == page.paginator.ELLIPSIS:
            items.append({"ellipsis": True})
        else:
            items.append(
                {
                    "number": number,
                    "url": query_string(query, page=page_param(number)),
                    "current": number == page.number,
                }
            )
    return items


def pagination(query: QueryDict, page) -> dict:
    """The pagination of ``page`` (links keep the rest of ``query``): numbered links when
    there is more than one page, and the previous and next pages' addresses."""
    return {
        "page_links": page_links(query, page) if page.paginator.num_pages > 1 else [],
        "previous_url": (
            query_string(query, page=page_param(page.previous_page_number()))
            if page.has_previous()
            else None
        ),
        "next_url": (
            query_string(query, page=page.next_page_number()) if page.has_next() else None
        ),
    }


@dataclass(frozen=True)
class FacetOption:
    """One value of a filter: what it is called, how many rows it would show, ticked."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class FacetGroup:
    name: str  # the query-string key
    legend: str
    options: list[FacetOption]
    errors: list[str]

    @property
    def visible_options(self) -> list[FacetOption]:
        """The options worth offering: those that would show a row, and those ticked."""
        return [option for option in self.options if option.count or option.selected]


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx request for the results only (a history restore or a boosted link needs
    the whole page)."""
    return (
        is_htmx(request)
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )
