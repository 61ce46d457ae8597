"""Reads of institutions. Site data is only ever read through functions that take a site."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Lower, Replace, Upper
from django.db.models.lookups import GreaterThanOrEqual, StartsWith
from django.http import Http404

from matmis.listing import FacetOption

from .models import (
    CURRENT_STATUSES,
    Cluster,
    ClusterMembership,
    GroupMembership,
    Institution,
    InstitutionKind,
    OfstedGrade,
    Phase,
)

# The site list's order of kinds: the groups first, then their schools.
SITE_KIND_ORDER = (InstitutionKind.TRUST, InstitutionKind.LOCAL_AUTHORITY, InstitutionKind.SCHOOL)


def _site_directory_matches(search: str) -> QuerySet[Institution]:
    sites = Institution.objects.all()
    for word in search.split():
        sites = sites.filter(Q(name__icontains=word) | Q(slug__icontains=word))
    return sites


def site_directory(*, search: str = "", kind: str | None = None) -> QuerySet[Institution]:
    """Every site (or those whose name or address holds every word of ``search``, of
    ``kind``), for the development-only list on the bare base domain: trusts, local
    authorities, then schools, each by name."""
    sites = _site_directory_matches(search)
    if kind:
        sites = sites.filter(kind=kind)
    kind_rank = Case(
        *(When(kind=value, then=Value(rank)) for rank, value in enumerate(SITE_KIND_ORDER)),
        output_field=IntegerField(),
    )
    return sites.only("kind", "name", "slug").order_by(kind_rank, "name", "pk")


def site_directory_counts(*, search: str = "") -> dict[str, int]:
    """How many sites of each kind ``site_directory(search=...)`` holds (one query)."""
    counts = dict.fromkeys(SITE_KIND_ORDER, 0)
    rows = _site_directory_matches(search).values("kind").annotate(n=Count("pk"))
    counts.update({row["kind"]: row["n"] for row in rows})
    return counts


class _InArray(Func):
    """``pk = ANY(ARRAY(subquery))``: Postgres evaluates the subquery once, first, and then
    fetches each row by primary key. A join or ``IN (subquery)`` lets the planner choose a
    hash join that scans the whole national table for a group of a few hundred schools."""

    template = "%(expressions)s"
    arg_joiner = " = ANY("
    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = super().as_sql(compiler, connection, **extra)
        return f"{sql})", params


def current_schools(*, group: Institution) -> QuerySet[Institution]:
    """The schools of ``group``: current members (membership not ended) that are open."""
    member_ids = GroupMembership.objects.filter(group=group, left_on__isnull=True).values(
        "school_id"
    )
    return (
        Institution.objects.alias(is_member=_InArray(F("pk"), ArraySubquery(member_ids)))
        .filter(is_member=True, status__in=CURRENT_STATUSES)
        .order_by("name")
    )


def current_groups(*, school: Institution) -> QuerySet[Institution]:
    """The trust and local authority that ``school`` currently belongs to."""
    return Institution.objects.filter(
        member_links__school=school, member_links__left_on__isnull=True
    ).order_by("kind", "name")


# --- Browse Institutions: a group's schools, searched, filtered, faceted, sorted ---------

URN_PATTERN = re.compile(r"^[0-9]{6}$")
# A whole postcode or its first part, spaces removed: "LS1", "LS14AB", "SW1A1AA".
_POSTCODE_START = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?(?:[0-9][A-Z]{0,2})?$")
# word_similarity(query, name) at or above this counts as a name match. pg_trgm's own
# threshold for ``%>`` is 0.6, which misses everyday typos ("oak rdge" scores 0.58 against
# "Oak Ridge Primary School"); exact substrings always match through ``contains``.
NAME_SIMILARITY_MIN = 0.5

OFSTED_NONE = "none"
OFSTED_NONE_LABEL = "No single grade (not inspected or report card)"

# Phases in the order a school career runs, for sorting and for the facet.
PHASE_ORDER: tuple[str, ...] = (
    Phase.NURSERY,
    Phase.PRIMARY,
    Phase.MIDDLE_DEEMED_PRIMARY,
    Phase.MIDDLE_DEEMED_SECONDARY,
    Phase.SECONDARY,
    Phase.ALL_THROUGH,
    Phase.SIXTEEN_PLUS,
    Phase.NOT_APPLICABLE,
)

SORTS: dict[str, str] = {
    "name": "Name (A to Z)",
    "-name": "Name (Z to A)",
    "phase": "Phase (nursery first)",
    "-phase": "Phase (16 plus first)",
    "cluster": "Cluster (A to Z)",
    "-cluster": "Cluster (Z to A)",
}
RELEVANCE = "relevance"


def normalise_name_query(text: str) -> str:
    """A search typed by a person, in the form of ``Institution.search_name``: lower case,
    without apostrophes (straight or curly), single spaces."""
    return " ".join(text.replace("’", "").replace("'", "").lower().split())


def _name_similarity(normalised: str) -> TrigramWordSimilarity:
    return TrigramWordSimilarity(normalised, "search_name")


def _search_condition(search: str | None) -> Q | None:
    """Schools matching ``search`` by name (typo-tolerant), URN, postcode or town."""
    text = " ".join((search or "").split())
    if not text:
        return None
    name = normalise_name_query(text)
    condition = Q(town__iexact=text)
    if name:
        condition |= Q(GreaterThanOrEqual(_name_similarity(name), NAME_SIMILARITY_MIN))
        condition |= Q(search_name__contains=name)
    if URN_PATTERN.match(text):
        condition |= Q(urn=text)
    compact = text.replace(" ", "").upper()
    if _POSTCODE_START.match(compact):
        postcode = Replace(Upper("postcode"), Value(" "), Value(""))
        condition |= Q(StartsWith(postcode, compact))
    return condition


@dataclass(frozen=True)
class SchoolFilters:
    """What Browse Institutions narrows a group's schools by. Values are trusted: the
    caller validated them (``institutions.forms.BrowseForm``)."""

    search: str | None = None
    phases: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    ofsted: tuple[str, ...] = ()
    clusters: tuple[int, ...] = ()

    def conditions(self, *, group: Institution) -> dict[str, Q]:
        """One condition per facet (and the search), each empty when not in use."""
        conditions = {"search": _search_condition(self.search) or Q()}
        conditions["phase"] = Q(phase__in=self.phases) if self.phases else Q()
        conditions["type"] = Q(type_name__in=self.types) if self.types else Q()
        ofsted = Q()
        grades = [grade for grade in self.ofsted if grade != OFSTED_NONE]
        if grades:
            ofsted |= Q(ofsted_grade__in=grades)
        if OFSTED_NONE in self.ofsted:
            ofsted |= Q(ofsted_grade="")
        conditions["ofsted"] = ofsted
        conditions["cluster"] = (
            Q(
                Exists(
                    ClusterMembership.objects.filter(
                        group=group, cluster_id__in=self.clusters, school=OuterRef("pk")
                    )
                )
            )
            if self.clusters
            else Q()
        )
        return conditions


def _combined(conditions: dict[str, Q], *, leave_out: str | None = None) -> Q:
    combined = Q()
    for name, condition in conditions.items():
        if name != leave_out:
            combined &= condition
    return combined


def _phase_rank() -> Case:
    return Case(
        *(When(phase=phase, then=Value(rank)) for rank, phase in enumerate(PHASE_ORDER)),
        default=Value(len(PHASE_ORDER)),
        output_field=IntegerField(),
    )


def _group_clusters_prefetch(group: Institution) -> Prefetch:
    """Each school's clusters in this group (never another group's), as ``group_clusters``."""
    return Prefetch(
        "clusters_in",
        queryset=Cluster.objects.filter(group=group).order_by(Lower("name"), "pk"),
        to_attr="group_clusters",
    )


def group_school_list(
    *,
    group: Institution,
    search: str | None = None,
    phases: Iterable[str] = (),
    types: Iterable[str] = (),
    ofsted: Iterable[str] = (),
    clusters: Iterable[int] = (),
    sort: str = "name",
) -> QuerySet[Institution]:
    """The group's current schools matching the search and every filter (any of the values
    chosen within a filter), sorted, each with ``group_clusters`` prefetched.

    ``sort``: a key of ``SORTS``, or ``RELEVANCE``, which ranks by name similarity while
    searching and falls back to name otherwise.
    """
    filters = SchoolFilters(search, tuple(phases), tuple(types), tuple(ofsted), tuple(clusters))
    schools = (
        current_schools(group=group)
        .filter(_combined(filters.conditions(group=group)))
        .prefetch_related(_group_clusters_prefetch(group))
    )
    name_asc, name_desc = Lower("name").asc(), Lower("name").desc()
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    normalised = normalise_name_query(search or "")
    if key == RELEVANCE and normalised:
        return schools.annotate(name_similarity=_name_similarity(normalised)).order_by(
            F("name_similarity").desc(), name_asc, "pk"
        )
    if key == "phase":
        rank = _phase_rank()
        return schools.order_by(rank.desc() if descending else rank.asc(), name_asc, "pk")
    if key == "cluster":
        first_cluster = Subquery(
            ClusterMembership.objects.filter(group=group, school=OuterRef("pk"))
            .order_by(Lower("cluster__name"))
            .values(lower_name=Lower("cluster__name"))[:1]
        )
        schools = schools.annotate(first_cluster=first_cluster)
        order = (
            F("first_cluster").desc(nulls_last=True)
            if descending
            else F("first_cluster").asc(nulls_last=True)
        )
        return schools.order_by(order, name_asc, "pk")
    return schools.order_by(name_desc if descending else name_asc, "-pk" if descending else "pk")


def _count(condition: Q) -> Count:
    return Count("pk", filter=condition) if condition else Count("pk")


def group_school_facets(
    *,
    group: Institution,
    search: str | None = None,
    phases: Iterable[str] = (),
    types: Iterable[str] = (),
    ofsted: Iterable[str] = (),
    clusters: Iterable[int] = (),
    within: Q | None = None,
) -> dict[str, list[FacetOption]]:
    """For each filter (``phase``, ``type``, ``ofsted``, ``cluster``), its options with the
    number of schools each would show given the search and the OTHER filters.

    ``within``: a condition on the schools that narrows what is counted, for a page that
    lists only some of the group's schools (a tab of Data Sharing Agreements), so that the
    counts are those of the list shown.

    Two queries whatever the group's size: one GROUP BY over the group's schools by
    (phase, type, Ofsted grade), counting conditionally for each filter and summed per
    option here (at most one row per combination present in the group), and one for the
    clusters. Options with no school under the other filters are still listed (with 0) as
    long as some school of the group has them.
    """
    filters = SchoolFilters(search, tuple(phases), tuple(types), tuple(ofsted), tuple(clusters))
    conditions = filters.conditions(group=group)
    schools = current_schools(group=group)
    if within is not None:
        schools = schools.filter(within)
    combinations = (
        schools.order_by()
        .values("phase", "type_name", "ofsted_grade")
        .annotate(
            by_phase=_count(_combined(conditions, leave_out="phase")),
            by_type=_count(_combined(conditions, leave_out="type")),
            by_ofsted=_count(_combined(conditions, leave_out="ofsted")),
        )
    )
    phase_counts: dict[str, int] = {}
    type_counts: dict[str, int] = {}
    ofsted_counts: dict[str, int] = {}
    for row in combinations:
        phase_counts[row["phase"]] = phase_counts.get(row["phase"], 0) + row["by_phase"]
        type_counts[row["type_name"]] = type_counts.get(row["type_name"], 0) + row["by_type"]
        grade = row["ofsted_grade"]
        ofsted_counts[grade] = ofsted_counts.get(grade, 0) + row["by_ofsted"]
    cluster_schools = (
        schools.filter(_combined(conditions, leave_out="cluster")).order_by().values("pk")
    )
    cluster_rows = (
        Cluster.objects.filter(group=group)
        .annotate(n=Count("links", filter=Q(links__school__in=cluster_schools)))
        .order_by(Lower("name"), "pk")
        .values_list("pk", "name", "n")
    )

    return _facet_options(
        filters,
        phase_counts=phase_counts,
        type_counts=type_counts,
        ofsted_counts=ofsted_counts,
        cluster_rows=cluster_rows,
    )


def _facet_options(
    filters: SchoolFilters,
    *,
    phase_counts: dict[str, int],
    type_counts: dict[str, int],
    ofsted_counts: dict[str, int],
    cluster_rows: Iterable[tuple[int, str, int]],
) -> dict[str, list[FacetOption]]:
    """Each filter's options with their counts: every value some school of the group has
    (counted or not), and every value chosen."""
    phase_options = [  # labelled as the register names them ("16 plus", "All-through")
        FacetOption(phase, phase, phase_counts.get(phase, 0), phase in filters.phases)
        for phase in PHASE_ORDER
        if phase in phase_counts or phase in filters.phases
    ]
    type_options = [
        FacetOption(name, name, type_counts.get(name, 0), name in filters.types)
        for name in sorted({*type_counts, *filters.types} - {""}, key=str.casefold)
    ]
    ofsted_options = [
        FacetOption(
            grade.value,
            grade.label,
            ofsted_counts.get(grade.value, 0),
            grade.value in filters.ofsted,
        )
        for grade in OfstedGrade
        if grade.value in ofsted_counts or grade.value in filters.ofsted
    ]
    if "" in ofsted_counts or OFSTED_NONE in filters.ofsted:
        ofsted_options.append(
            FacetOption(
                OFSTED_NONE,
                OFSTED_NONE_LABEL,
                ofsted_counts.get("", 0),
                OFSTED_NONE in filters.ofsted,
            )
        )
    cluster_options = [
        FacetOption(str(pk), name, n, pk in filters.clusters) for pk, name, n in cluster_rows
    ]
    return {
        "phase": phase_options,
        "type": type_options,
        "ofsted": ofsted_options,
        "cluster": cluster_options,
    }


def group_school_type_names(*, group: Institution) -> list[str]:
    """The establishment types among the group's schools, alphabetically."""
    names = (
        current_schools(group=group)
        .exclude(type_name="")
        .order_by()
        .values_list("type_name", flat=True)
        .distinct()
    )
    return sorted(names, key=str.casefold)


def group_school_for_urn(*, group: Institution, urn: str) -> Institution:
    """The group's current school with ``urn``, with ``group_clusters``.

    Raises Http404, the same for a URN that does not exist and for a school of another
    group, a closed school or one that has left.
    """
    if not isinstance(urn, str) or not URN_PATTERN.match(urn):
        raise Http404("No such school in this group.")
    school = (
        current_schools(group=group)
        .filter(urn=urn)
        .prefetch_related(_group_clusters_prefetch(group))
        .first()
    )
    if school is None:
        raise Http404("No such school in this group.")
    return school


# --- Selections: many ids from a client, each checked to be the group's ------------------

NOT_A_URN = "Not a URN (six digits)"


def malformed_urns(urns: Iterable) -> list[str]:
    """Those of ``urns`` that are not URNs at all: a validation error (400) for the client,
    unlike a well-formed URN that is not the group's (404, ``schools_for_selection``)."""
    return [str(urn) for urn in urns if not isinstance(urn, str) or not URN_PATTERN.match(urn)]


def schools_for_selection(*, group: Institution, urns: Iterable[str]) -> list[Institution]:
    """The group's current schools with ``urns`` (a repeat counts once), by name: what a
    bulk action on ticked schools applies to, in the pages and the API alike.

    Raises Http404 unless every one is a current school of the group: the same answer for
    a URN that does not exist, a school of another group, a closed school, one that has left
    and a value that is no URN at all, so nothing is revealed about schools elsewhere.
    """
    wanted = set(urns)
    if malformed_urns(wanted):
        raise Http404("No such school in this group.")
    schools = list(current_schools(group=group).filter(urn__in=wanted)) if wanted else []
    if len(schools) != len(wanted):
        raise Http404("No such school in this group.")
    return schools


def clusters_for_selection(*, group: Institution, cluster_ids: Iterable[int]) -> list[Cluster]:
    """The group's clusters with ``cluster_ids`` (a repeat counts once), by name. Raises
    Http404 unless every one is the group's: the same for a missing id and another
    group's."""
    try:
        wanted = {int(pk) for pk in cluster_ids}
    except (TypeError, ValueError):
        raise Http404("No such cluster in this group.") from None
    clusters = (
        list(Cluster.objects.filter(group=group, pk__in=wanted).order_by(Lower("name"), "pk"))
        if wanted
        else []
    )
    if len(clusters) != len(wanted):
        raise Http404("No such cluster in this group.")
    return clusters


# --- Clusters ---------------------------------------------------------------------------


def _current_school_ids(group: Institution) -> QuerySet:
    return current_schools(group=group).order_by().values("pk")


def cluster_choices(*, group: Institution) -> QuerySet[Cluster]:
    """The group's clusters by name, without counts: the options of a cluster filter."""
    return Cluster.objects.filter(group=group).order_by(Lower("name"), "pk")


def cluster_list(*, group: Institution) -> QuerySet[Cluster]:
    """The group's clusters by name, each with ``school_count``: its current schools."""
    return (
        Cluster.objects.filter(group=group)
        .annotate(
            school_count=Count("links", filter=Q(links__school__in=_current_school_ids(group)))
        )
        .order_by(Lower("name"), "pk")
    )


def cluster_for_id(*, group: Institution, cluster_id: int | str) -> Cluster:
    """The group's cluster ``cluster_id``, with ``school_count``.

    Raises Http404, the same for an id that does not exist and one of another group.
    """
    try:
        pk = int(cluster_id)
    except (TypeError, ValueError):
        raise Http404("No such cluster in this group.") from None
    cluster = cluster_list(group=group).filter(pk=pk).first()
    if cluster is None:
        raise Http404("No such cluster in this group.")
    return cluster


def cluster_schools(*, cluster: Cluster) -> QuerySet[Institution]:
    """The cluster's schools that are current schools of its group, by name."""
    return current_schools(group=cluster.group).filter(
        Exists(ClusterMembership.objects.filter(cluster=cluster, school=OuterRef("pk")))
    )


# --- Browse in one pass ---------------------------------------------------------------------
# Browse Institutions reads everything it shows but the page's own rows from one statement
# over the group's current schools: each school's facet values, whether it matches the
# search, its clusters in the group and its place in the chosen order. The search is
# computed once per school (``word_similarity`` in a materialised subquery, used by the match
# and by the order alike); the total, the type list and every facet's counts are then taken
# from those rows here. The answers are those of ``group_school_list`` and
# ``group_school_facets`` (tests compare them); the other pages still use those.

_BROWSE_SCHOOLS_SQL = """
WITH s AS MATERIALIZED (
    SELECT i.id, i.name, i.phase, i.type_name, i.ofsted_grade,
           {similarity} AS similarity,
           {matches} AS matches
    FROM institutions_institution i
    WHERE i.id = ANY (ARRAY(
            SELECT m.school_id FROM institutions_groupmembership m
            WHERE m.group_id = %(group)s AND m.left_on IS NULL))
      AND i.status = ANY (%(statuses)s)
)
SELECT s.id, s.phase, s.type_name, s.ofsted_grade, s.matches,
       ARRAY(SELECT cm.cluster_id FROM institutions_clustermembership cm
             WHERE cm.group_id = %(group)s AND cm.school_id = s.id) AS clusters,
       row_number() OVER (ORDER BY {order}) AS position
FROM s
"""

_FIRST_CLUSTER_SQL = """(
    SELECT lower(c.name) FROM institutions_clustermembership cm
    JOIN institutions_cluster c ON c.id = cm.cluster_id
    WHERE cm.group_id = %(group)s AND cm.school_id = s.id
    ORDER BY lower(c.name) LIMIT 1)"""


def _browse_search_sql(search: str | None) -> tuple[str, str, dict]:
    """The similarity and match expressions of ``_search_condition`` over ``i``, in SQL."""
    text = " ".join((search or "").split())
    if not text:
        return "0.0", "true", {}
    name = normalise_name_query(text)
    params: dict = {"search_text": text}
    matches = ["upper(i.town::text) = upper(%(search_text)s)"]
    similarity = "0.0"
    if name:
        from django.db import connection

        params["search_name"] = name
        params["search_contains"] = f"%{connection.ops.prep_for_like_query(name)}%"
        similarity = "word_similarity(%(search_name)s, i.search_name)"
        matches.append(f"{similarity} >= %(similarity_min)s")
        matches.append("i.search_name::text LIKE %(search_contains)s")
        params["similarity_min"] = NAME_SIMILARITY_MIN
    if URN_PATTERN.match(text):
        params["search_urn"] = text
        matches.append("i.urn = %(search_urn)s")
    compact = text.replace(" ", "").upper()
    if _POSTCODE_START.match(compact):
        from django.db import connection

        params["search_postcode"] = f"{connection.ops.prep_for_like_query(compact)}%"
        matches.append("replace(upper(i.postcode::text), ' ', '') LIKE %(search_postcode)s")
    # The similarity is computed once, in the subquery's select list, and the match reads it.
    return similarity, "(" + " OR ".join(matches) + ")", params


def _browse_order_sql(sort: str, *, searching: bool) -> str:
    """``group_school_list``'s order, for the window that numbers the schools."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key == RELEVANCE and searching:
        return "s.similarity DESC, lower(s.name), s.id"
    if key == "phase":
        ranks = " ".join(
            f"WHEN s.phase = '{phase}' THEN {rank}" for rank, phase in enumerate(PHASE_ORDER)
        )
        rank = f"CASE {ranks} ELSE {len(PHASE_ORDER)} END"
        return f"{rank} {'DESC' if descending else 'ASC'}, lower(s.name), s.id"
    if key == "cluster":
        direction = "DESC NULLS LAST" if descending else "ASC NULLS LAST"
        return f"{_FIRST_CLUSTER_SQL} {direction}, lower(s.name), s.id"
    if descending:
        return "lower(s.name) DESC, s.id DESC"
    return "lower(s.name), s.id"


@dataclass(frozen=True)
class BrowseSchool:
    """One of the group's current schools as the Browse pass sees it."""

    pk: int
    phase: str
    type_name: str
    ofsted_grade: str
    matches_search: bool
    cluster_ids: frozenset[int]
    position: int


@dataclass(frozen=True)
class GroupBrowse:
    """The group's current schools for a search and an order (``group_school_browse``):
    what Browse filters, counts and pages in Python, without another query."""

    group: Institution
    clusters: tuple[Cluster, ...]  # the group's clusters by name
    schools: tuple[BrowseSchool, ...]  # in the order asked for

    @property
    def type_names(self) -> list[str]:
        """As ``group_school_type_names``: the types among the schools, alphabetically."""
        return sorted({s.type_name for s in self.schools} - {""}, key=str.casefold)

    def _tests(self, filters: SchoolFilters) -> dict:
        grades = {grade for grade in filters.ofsted if grade != OFSTED_NONE}
        if OFSTED_NONE in filters.ofsted:
            grades.add("")
        chosen_clusters = set(filters.clusters)
        return {
            "search": (lambda s: s.matches_search),
            "phase": (lambda s: s.phase in filters.phases) if filters.phases else None,
            "type": (lambda s: s.type_name in filters.types) if filters.types else None,
            "ofsted": (lambda s: s.ofsted_grade in grades) if filters.ofsted else None,
            "cluster": (lambda s: bool(s.cluster_ids & chosen_clusters))
            if filters.clusters
            else None,
        }

    def matching(self, filters: SchoolFilters) -> list[BrowseSchool]:
        """The schools passing the search and every filter, in order."""
        tests = [test for test in self._tests(filters).values() if test]
        return [s for s in self.schools if all(test(s) for test in tests)]

    def facets(self, filters: SchoolFilters) -> dict[str, list[FacetOption]]:
        """``group_school_facets``' answer, counted from the pass."""
        tests = self._tests(filters)

        def passing(leave_out: str):
            chosen = [test for name, test in tests.items() if test and name != leave_out]
            return [s for s in self.schools if all(test(s) for test in chosen)]

        phase_counts = dict.fromkeys((s.phase for s in self.schools), 0)
        for school in passing("phase"):
            phase_counts[school.phase] += 1
        type_counts = dict.fromkeys((s.type_name for s in self.schools), 0)
        for school in passing("type"):
            type_counts[school.type_name] += 1
        ofsted_counts = dict.fromkeys((s.ofsted_grade for s in self.schools), 0)
        for school in passing("ofsted"):
            ofsted_counts[school.ofsted_grade] += 1
        cluster_counts = dict.fromkeys((cluster.pk for cluster in self.clusters), 0)
        for school in passing("cluster"):
            for cluster_id in school.cluster_ids:
                if cluster_id in cluster_counts:
                    cluster_counts[cluster_id] += 1
        return _facet_options(
            filters,
            phase_counts=phase_counts,
            type_counts=type_counts,
            ofsted_counts=ofsted_counts,
            cluster_rows=[(c.pk, c.name, cluster_counts[c.pk]) for c in self.clusters],
        )

    def page_schools(self, schools: Iterable[BrowseSchool]) -> list[Institution]:
        """The institutions of ``schools`` (a page of them), in that order, each with
        ``group_clusters`` (one query)."""
        chosen = list(schools)
        by_pk = Institution.objects.in_bulk([s.pk for s in chosen])
        clusters = {cluster.pk: cluster for cluster in self.clusters}
        rank = {cluster.pk: n for n, cluster in enumerate(self.clusters)}
        page = []
        for school in chosen:
            institution = by_pk[school.pk]
            institution.group_clusters = [
                clusters[pk] for pk in sorted(school.cluster_ids & clusters.keys(), key=rank.get)
            ]
            page.append(institution)
        return page


def group_school_browse(*, group: Institution, search: str | None, sort: str) -> GroupBrowse:
    """The group's current schools, each with whether it matches ``search`` and its place
    in the ``sort`` order (as ``group_school_list`` orders them), and the group's clusters.
    Two queries whatever the group's size."""
    from django.db import connection

    clusters = tuple(cluster_choices(group=group))
    similarity, matches, params = _browse_search_sql(search)
    searching = bool(normalise_name_query(search or ""))
    statement = _BROWSE_SCHOOLS_SQL.format(
        similarity=similarity,
        matches=matches,
        order=_browse_order_sql(sort, searching=searching),
    )
    params.update(group=group.pk, statuses=[str(status) for status in CURRENT_STATUSES])
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    schools = sorted(
        (
            BrowseSchool(
                pk=pk,
                phase=phase,
                type_name=type_name,
                ofsted_grade=grade,
                matches_search=bool(matched),
                cluster_ids=frozenset(cluster_ids),
                position=position,
            )
            for pk, phase, type_name, grade, matched, cluster_ids, position in rows
        ),
        key=lambda school: school.position,
    )
    return GroupBrowse(group=group, clusters=clusters, schools=tuple(schools))
