"""The development mail page on the bare base domain: ``/mail/``.

In development (not ``PRODUCTION``) mail is written to files under ``.data/mail`` by
Django's file backend (``MAILERS``); this page lists those messages, newest first, and
shows one, so a person can read the emailed link and follow it as the head teacher would.
In production the page does not exist (404). Each file holds the messages of one mail
connection, separated by a line of 79 dashes; a message is named ``<file stem>.<n>``.

The HTML part is shown as its source text, never rendered: the page keeps the site's strict
CSP and nothing in an email can run or style anything here.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
NAME = re.compile(r"^(?P<stem>[0-9]{8}-[0-9]{6}-[0-9]+)\.(?P<index>[0-9]{1,5})$")
LIST_LIMIT = 200


@dataclass(frozen=True)
class MailSummary:
    name: str
    subject: str
    to: str
    date: datetime | None


def mail_folder() -> Path | None:
    """Where the file backend writes, or None when mail is not written to files."""
    mailer = settings.MAILERS.get("default", {})
    if mailer.get("BACKEND") != FILE_BACKEND:
        return None
    return Path(mailer.get("OPTIONS", {}).get("file_path", ""))


def _messages_in(path: Path) -> list[bytes]:
    return [chunk for chunk in path.read_bytes().split(SEPARATOR) if chunk.strip()]


def _parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("Date")
    try:
        return header.datetime if header is not None else None
    except (AttributeError, ValueError):
        return None


def mail_list(folder: Path) -> list[MailSummary]:
    """The newest ``LIST_LIMIT`` messages in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    files = sorted(
        (p for p in folder.glob("*.log") if NAME.match(f"{p.stem}.0")),
        key=lambda p: (p.stat().st_mtime, p.name),
        reverse=True,
    )
    found: list[MailSummary] = []
    for path in files:
        for index, raw in reversed(list(enumerate(_messages_in(path)))):
            message = _parse(raw)
            found.append(
                MailSummary(
                    name=f"{path.stem}.{index}",
                    subject=str(message.get("Subject", "(no subject)")),
                    to=str(message.get("To", "")),
                    date=_date(message),
                )
            )
            if len(found) >= LIST_LIMIT:
                return found
    return found


def mail_get(folder: Path, name: str) -> EmailMessage:
    match = NAME.match(name)
    if match is None:
        raise Http404("No such message.")
    path = folder / f"{match['stem']}.log"
    if not path.is_file():
        raise Http404("No such message.")
    messages = _messages_in(path)
    index = int(match["index"])
    if index >= len(messages):
        raise Http404("No such message.")
    return _parse(messages[index])


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    return part.get_content()


def _development_only() -> None:
    if settings.PRODUCTION:
        raise Http404("There is no mail page in production.")


def mail_index(request: HttpRequest) -> HttpResponse:
    _development_only()
    folder = mail_folder()
    return render(
        request,
        "notifications/mail_list.html",
        {
            "folder": folder,
            "messages_found": mail_list(folder) if folder else [],
            "backend": settings.MAILERS.get("default", {}).get("BACKEND", ""),
            "limit": LIST_LIMIT,
        },
    )


def mail_detail(request: HttpRequest, name: str) -> HttpResponse:
    _development_only()
    folder = mail_folder()
    if folder is None:
        raise Http404("Mail is not written to files here.")
    message = mail_get(folder, name)
    return render(
        request,
        "notifications/mail_detail.html",
        {
            "subject": str(message.get("Subject", "(no subject)")),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "date": _date(message),
            "text": _part(message, "plain"),
            "html": _part(message, "html"),
        },
    )
