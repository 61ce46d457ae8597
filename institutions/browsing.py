"""Browse's query-string state, shared by every page that lists a group's schools with
the Browse search and filters (Browse Institutions, Data Sharing Agreements)."""

from dataclasses import dataclass

from django.http import QueryDict

from matmis.listing import FacetGroup, FacetOption, query_string

from .forms import BrowseForm


@dataclass(frozen=True)
class SortableColumn:
    label: str
    url: str
    aria_sort: str | None  # "ascending" / "descending" on the column sorted by
    next_direction: str  # what following the link does, for screen readers
    link_id: str


def browse_query(form: BrowseForm) -> QueryDict:
    """The query string of the view as the form understood it: values it did not
    recognise are dropped, so following any link here leaves them behind."""
    data = form.cleaned_data
    query = QueryDict(mutable=True)
    if data.get("q"):
        query["q"] = data["q"]
    for name in ("phase", "type", "ofsted", "cluster"):
        if data.get(name):
            query.setlist(name, data[name])
    if data.get("sort"):
        query["sort"] = data["sort"]
    return query


def sortable_columns(query: QueryDict, sort: str) -> dict[str, SortableColumn]:
    columns = {}
    for key, label in (("name", "School"), ("phase", "Phase"), ("cluster", "Clusters")):
        if sort == key:
            aria_sort, next_sort, next_direction = "ascending", f"-{key}", "descending"
        elif sort == f"-{key}":
            aria_sort, next_sort, next_direction = "descending", key, "ascending"
        else:
            aria_sort, next_sort, next_direction = None, key, "ascending"
        columns[key] = SortableColumn(
            label=label,
            url=query_string(query, sort=next_sort, page=None),
            aria_sort=aria_sort,
            next_direction=next_direction,
            link_id=f"sort-{key}",
        )
    return columns


FACET_LEGENDS = (("phase", "Phase"), ("type", "Type"), ("ofsted", "Ofsted"), ("cluster", "Cluster"))


def facet_groups(form: BrowseForm, facets: dict[str, list[FacetOption]]) -> list[FacetGroup]:
    return [
        FacetGroup(name, legend, facets[name], list(form.errors.get(name, [])))
        for name, legend in FACET_LEGENDS
    ]
