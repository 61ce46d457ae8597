"""What a bulk action on requests did: per school, done or skipped with a plain reason,
and the summary sentence the person who acted reads."""

import datetime
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class SchoolOutcome:
    """What a bulk action did at one school: done, or skipped with a plain reason."""

    school_id: int
    urn: str
    name: str
    reason: str = ""
    recipients: tuple[str, ...] = ()
    request_id: int | None = None
    recipient_names: tuple[str, ...] = ()  # "Ann Smith (Head Teacher, chosen by name)"
    next_allowed_at: datetime.datetime | None = None

    @property
    def done(self) -> bool:
        return not self.reason

    @property
    def people(self) -> tuple[tuple[str, str], ...]:
        """Each recipient as ("Ann Smith (Head Teacher)", email), when the names are known."""
        return tuple(zip(self.recipient_names, self.recipients, strict=False))


class BulkAction(models.TextChoices):
    SEND = "send", "Send data sharing requests"
    REMIND = "remind", "Send reminders"
    WITHDRAW = "withdraw", "Withdraw requests"


_DONE_SENTENCES = {
    BulkAction.SEND: ("Request sent to 1 school.", "Requests sent to {n} schools."),
    BulkAction.REMIND: ("Reminder sent to 1 school.", "Reminders sent to {n} schools."),
    BulkAction.WITHDRAW: ("Request withdrawn for 1 school.", "Requests withdrawn for {n} schools."),
}
_NONE_DONE = {
    BulkAction.SEND: "No requests were sent.",
    BulkAction.REMIND: "No reminders were sent.",
    BulkAction.WITHDRAW: "No requests were withdrawn.",
}


@dataclass(frozen=True)
class BulkOutcome:
    """The per-school result of a bulk action, and its summary in plain words."""

    action: str
    rows: tuple[SchoolOutcome, ...]
    level: int | None = None

    @property
    def done(self) -> tuple[SchoolOutcome, ...]:
        return tuple(row for row in self.rows if row.done)

    @property
    def skipped(self) -> tuple[SchoolOutcome, ...]:
        return tuple(row for row in self.rows if not row.done)

    def skip_reasons(self) -> list[tuple[str, int]]:
        """Each reason with how many schools it applies to, the commonest first."""
        counts: dict[str, int] = {}
        for row in self.skipped:
            counts[row.reason] = counts.get(row.reason, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    @property
    def summary(self) -> str:
        """ "Requests sent to 38 schools. 2 schools were skipped: no Head Teacher with an
        email address." """
        done = len(self.done)
        one, many = _DONE_SENTENCES[BulkAction(self.action)]
        sentence = (one if done == 1 else many.format(n=done)) if done else ""
        sentence = sentence or _NONE_DONE[BulkAction(self.action)]
        skipped = len(self.skipped)
        if skipped:
            reasons = self.skip_reasons()
            if len(reasons) == 1:
                because = reasons[0][0]
            else:
                because = "; ".join(f"{reason} ({count})" for reason, count in reasons)
            was = "school was" if skipped == 1 else "schools were"
            sentence += f" {skipped} {was} skipped: {because}."
        return sentence

    def as_dict(self) -> dict:
        """A JSON-ready copy (for the session between the action and its summary page)."""
        return {
            "action": self.action,
            "level": self.level,
            "rows": [
                {
                    "school_id": row.school_id,
                    "urn": row.urn,
                    "name": row.name,
                    "reason": row.reason,
                    "recipients": list(row.recipients),
                    "recipient_names": list(row.recipient_names),
                    "request_id": row.request_id,
                    "next_allowed_at": (
                        row.next_allowed_at.isoformat() if row.next_allowed_at else None
                    ),
                }
                for row in self.rows
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "BulkOutcome":
        rows = []
        for row in data["rows"]:
            next_at = row.get("next_allowed_at")
            rows.append(
                SchoolOutcome(
                    school_id=row["school_id"],
                    urn=row["urn"],
                    name=row["name"],
                    reason=row["reason"],
                    recipients=tuple(row["recipients"]),
                    recipient_names=tuple(row.get("recipient_names", ())),
                    request_id=row["request_id"],
                    next_allowed_at=datetime.datetime.fromisoformat(next_at) if next_at else None,
                )
            )
        return cls(action=data["action"], rows=tuple(rows), level=data.get("level"))
