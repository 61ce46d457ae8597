"""Mail backends for tests: the in-memory outbox, failing the first messages on demand."""

from smtplib import SMTPDataError, SMTPServerDisconnected

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FlakyBackend(LocmemBackend):
    """Refuses the next ``failures`` messages (a temporary SMTP error, or a dropped
    connection with ``disconnect``), then delivers to ``mail.outbox``."""

    failures = 0
    disconnect = False
    opened = 0

    def open(self):
        FlakyBackend.opened += 1
        return super().open()

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            if FlakyBackend.disconnect:
                raise SMTPServerDisconnected("Connection unexpectedly closed")
            raise SMTPDataError(451, b"4.3.0 Try again later")
        return super().send_messages(messages)

    @classmethod
    def reset(cls, *, failures: int = 0, disconnect: bool = False) -> None:
        cls.failures, cls.disconnect, cls.opened = failures, disconnect, 0
