"""Platform support: set up automated data sharing agreements for a whole trust."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.audit import system_actor
from institutions.models import Institution, InstitutionKind
from institutions.selectors import current_schools
from sharing.models import AccessLevel
from sharing.services.agreements import agreements_automate


class Command(BaseCommand):
    help = (
        "Set every current school of a trust to an access level, without requests or emails "
        "(never lowers a level). Audited as an automated agreement."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trust", required=True, help="The trust's slug or Trusts (code).")
        parser.add_argument(
            "--level",
            required=True,
            type=int,
            choices=AccessLevel.values,
            help="; ".join(f"{level.value} {level.label}" for level in AccessLevel),
        )

    def handle(self, *args, trust: str, level: int, **options):
        found = Institution.objects.filter(
            Q(slug=trust) | Q(group_code=trust), kind=InstitutionKind.TRUST
        ).first()
        if found is None:
            raise CommandError(f"No trust with the slug or code “{trust}”.")
        total = current_schools(group=found).count()
        try:
            changed = agreements_automate(trust=found, level=level, actor=system_actor(site=found))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        label = AccessLevel(level).label
        self.stdout.write(
            self.style.SUCCESS(
                f"{found.name}: {changed} of {total} schools set to “{label}”; "
                f"{total - changed} already had it or higher. No emails were sent."
            )
        )
