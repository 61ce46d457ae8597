import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.register import DEMO_ESTABLISHMENTS
from notifications.views import mail_folder
from portal.demo import (
    DEMO_BACKUP_CODES,
    DEMO_MIS_MAX_PUPILS,
    DEMO_PASSWORD,
    DEMO_SUPPORT_EMAIL,
    demo_app_lines,
    demo_totp_secret,
    seed_demo,
)


class Command(BaseCommand):
    help = (
        "Import the demo register (generated: Northshire, the Oak Ridge Trust and their "
        "neighbours), create the demo staff, and give the trust's schools MIS records up to "
        "today (idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--mis-pupils",
            type=int,
            default=DEMO_MIS_MAX_PUPILS,
            help="at most this many pupils in each trust school's MIS records (0: none; "
            f"default {DEMO_MIS_MAX_PUPILS})",
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only (MATMIS_ENV=production).")
        started = time.monotonic()

        def progress(step: str) -> None:
            self.stdout.write(f"    {step} ({time.monotonic() - started:.0f} s) ...")
            self.stdout.flush()

        logins = seed_demo(mis_max_pupils=max(0, options["mis_pupils"]), progress=progress)
        base = f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}"
        port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data is ready ({time.monotonic() - started:.0f} s): a generated "
                f"register of {DEMO_ESTABLISHMENTS:,} establishments, imported."
            )
        )
        mail = f"{base}{port}/mail/" if mail_folder() is not None else "sent by SMTP (EMAIL_HOST)"
        rows = [("All sites", f"{base}{port}/"), ("Emails sent", mail)]
        rows += [(login.role, f"{login.site.url}  {login.email}") for login in logins]
        rows.append(("Platform support", f"{base}{port}/support/  {DEMO_SUPPORT_EMAIL}"))
        width = max(len(label) for label, _ in rows) + 1
        for label, text in rows:
            self.stdout.write(f"  {label + ':':<{width}} {text}")
        self.stdout.write(f"  Password for every demo account: {DEMO_PASSWORD}")
        codes = ", ".join(f"{code[:4]}-{code[4:]}" for code in DEMO_BACKUP_CODES[:3])
        self.stdout.write(
            "  The trust administrator (for Log in to MIS) and platform support (always) sign "
            "in with two-factor:\n"
            f"    backup codes (each works once; seed_demo restores them): {codes}, ...\n"
            f"    or add this key to an authenticator app: {demo_totp_secret()}"
        )
        for line in demo_app_lines(f"{base}{port}"):
            self.stdout.write(line)
