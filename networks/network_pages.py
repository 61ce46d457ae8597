"""What a network's page shows about data sharing agreements between its organisations.

The platform's agreements are between a group (trust or local authority) and its schools
(``sharing.access``, the one gate). Between any other pair there is none on the platform:
the page warns, as the seed advises a data sharing agreement and an updated privacy
notice before sharing across organisations.
"""

from dataclasses import dataclass

from institutions.models import Institution
from institutions.selectors import current_schools
from sharing.access import NO_AGREEMENT, approved_level_subquery


@dataclass(frozen=True)
class AgreementNote:
    first: Institution
    second: Institution
    level: int  # 0: none on the platform

    @property
    def exists(self) -> bool:
        return self.level != NO_AGREEMENT


@dataclass(frozen=True)
class NetworkAgreements:
    notes: list[AgreementNote]
    # Pairs of organisations the platform has no agreement between (group-school pairs
    # without one, and every pair of schools, or of groups, which the platform never holds).
    uncovered_pairs: int

    @property
    def warn(self) -> bool:
        return self.uncovered_pairs > 0


def network_agreements(*, places: list[Institution]) -> NetworkAgreements:
    """One query per group among ``places`` (a network has few)."""
    groups = [p for p in places if p.is_group]
    schools = [p for p in places if not p.is_group]
    notes = []
    for group in groups:
        levels = dict(
            current_schools(group=group)
            .filter(pk__in=[s.pk for s in schools])
            .annotate(level=approved_level_subquery(group=group))
            .values_list("pk", "level")
        )
        for school in schools:
            if school.pk in levels:
                notes.append(AgreementNote(group, school, levels[school.pk] or NO_AGREEMENT))
    covered = sum(1 for note in notes if note.exists)
    total_pairs = len(places) * (len(places) - 1) // 2
    return NetworkAgreements(notes=notes, uncovered_pairs=total_pairs - covered)
