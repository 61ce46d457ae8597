"""What may group G see or do at school S: answered here and nowhere else.

The register's facts about a member school are always visible to its group. Beyond them,
the approved agreement's level decides:

- level 1, DfE Data: published statistics;
- level 2, DfE Data & MIS Data: also live figures from the school's MIS;
- level 3, DfE Data, MIS Data & Group Actions: also central actions, such as logging in to
  the school's MIS.

Every answer also needs the school to be one of the group's current schools, and only an
agreement in force counts: when a school leaves the group its agreement ends
(``services.endings``) and, kept as history, grants nothing, even if the school rejoins.
"""

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from institutions.models import Institution
from institutions.selectors import current_schools

from .models import AccessLevel, Agreement

NO_AGREEMENT = 0


def agreement_level(*, group: Institution, school: Institution) -> int:
    """The approved level of ``group``'s agreement in force with ``school``; 0 when there
    is none (an ended agreement is none)."""
    level = (
        Agreement.objects.in_force()
        .filter(group=group, school=school)
        .values_list("level", flat=True)
        .first()
    )
    return level or NO_AGREEMENT


def effective_level(*, group: Institution, school: Institution) -> int:
    """``agreement_level`` when ``school`` is one of ``group``'s current schools, else 0."""
    if not current_schools(group=group).filter(pk=school.pk).exists():
        return NO_AGREEMENT
    return agreement_level(group=group, school=school)


def group_may_see_published_data(*, group: Institution, school: Institution) -> bool:
    return effective_level(group=group, school=school) >= AccessLevel.DFE_DATA


def group_may_see_mis_data(*, group: Institution, school: Institution) -> bool:
    return effective_level(group=group, school=school) >= AccessLevel.DFE_AND_MIS_DATA


GROUP_ACTIONS_LABEL = AccessLevel.DFE_MIS_AND_GROUP_ACTIONS.label


def group_may_take_group_actions(*, group: Institution, school: Institution) -> bool:
    """Level 3 with a current member school: the condition for Log in to MIS."""
    return effective_level(group=group, school=school) >= AccessLevel.DFE_MIS_AND_GROUP_ACTIONS


def schools_with_group_actions(
    *, group: Institution, schools: QuerySet[Institution]
) -> QuerySet[Institution]:
    """Those of ``schools`` (already ``group``'s current schools) that have agreed to level
    3 with ``group`` in an agreement in force, in the same query."""
    return schools.filter(
        agreements_as_school__group=group,
        agreements_as_school__ended_at__isnull=True,
        agreements_as_school__level__gte=AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
    )


# --- For pages over many schools: the level once per school, in the same query ---------------


def approved_level_subquery(*, group: Institution):
    """For a queryset of schools: each one's approved level with ``group`` in an agreement
    in force, None when there is none (for showing the agreement, not for deciding
    access)."""
    return Subquery(
        Agreement.objects.in_force().filter(group=group, school=OuterRef("pk")).values("level")[:1],
        output_field=IntegerField(),
    )


def agreement_level_expression(*, group: Institution):
    """An annotation for a queryset of ``group``'s current schools (``current_schools``):
    each school's approved level, 0 when there is none. Use only on current schools: the
    answer for a school that left the group must be 0, which this does not check."""
    return Coalesce(approved_level_subquery(group=group), Value(NO_AGREEMENT))


def level_allows_published_data(level: int) -> bool:
    return level >= AccessLevel.DFE_DATA


def level_allows_mis_data(level: int) -> bool:
    return level >= AccessLevel.DFE_AND_MIS_DATA


def level_allows_group_actions(level: int) -> bool:
    return level >= AccessLevel.DFE_MIS_AND_GROUP_ACTIONS


def agreements_page_tabs(*, group: Institution, school_ids: list[int]) -> dict[int, str]:
    """For linking to the Data Sharing Agreements page from another app: the tab each of
    ``school_ids`` is listed on there (No Agreement, Pending or Approved). One query."""
    # The page's own reading of the status; imported here because it builds on this module.
    from .selectors import NO_SHARING, sharing_status_for_schools

    statuses = sharing_status_for_schools(group=group, school_ids=school_ids)
    return {pk: statuses.get(pk, NO_SHARING).state for pk in school_ids}
