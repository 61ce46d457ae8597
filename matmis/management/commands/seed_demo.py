from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from matmis.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo trust, local authority, schools and staff (idempotent)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only (MATMIS_ENV=production).")
        logins = seed_demo()
        base = f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}"
        port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  All sites:        {base}{port}/")
        for login in logins:
            self.stdout.write(f"  {login.role + ':':<17} {login.site.url}  {login.email}")
        self.stdout.write(f"  Platform support: {base}{port}/support/  support@matmis.test")
        self.stdout.write(f"  Password for every demo account: {DEMO_PASSWORD}")
