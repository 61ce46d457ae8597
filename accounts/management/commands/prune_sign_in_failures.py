from django.core.management.base import BaseCommand

from accounts.identity.sign_in import FAILURE_RETENTION, sign_in_failures_prune


class Command(BaseCommand):
    help = (
        "Delete recorded failed sign-ins older than a day. They exist only to throttle "
        "password and code guessing, which looks back 15 minutes, so older rows serve no "
        "purpose (the audit trail keeps its own record of each failure). Run it daily, for "
        "example from cron or a scheduled task; running it more often is harmless."
    )

    def handle(self, *args, **options):
        deleted = sign_in_failures_prune(older_than=FAILURE_RETENTION)
        self.stdout.write(f"Deleted {deleted} failed sign-in record(s) older than a day.")
