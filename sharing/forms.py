"""Forms of the group's Data Sharing Agreements pages: they parse what a person sent; the
rules live in ``sharing.rules`` and are enforced by ``sharing.services``."""

from dataclasses import dataclass, field

from django import forms
from django.http import QueryDict

from institutions.forms import BrowseForm
from institutions.selectors import URN_PATTERN
from matmis.client_input import whole_number

from .models import LEVEL_MEANINGS, AccessLevel
from .rules import ALL_ROLES, CHOOSE_RECIPIENTS, RECIPIENT_ROLES, recipient_roles_chosen
from .selectors import TAB_NONE, TABS

FILTER_KEYS = ("q", "phase", "type", "ofsted", "cluster")


class AgreementsForm(BrowseForm):
    """The query string of the Data Sharing Agreements page: Browse's search, filters and
    sort, plus the tab."""

    tab = forms.ChoiceField(
        required=False,
        choices=list(TABS.items()),
        error_messages={"invalid_choice": "That is not one of the tabs."},
    )

    def tab_key(self) -> str:
        return getattr(self, "cleaned_data", {}).get("tab") or TAB_NONE


@dataclass
class Selection:
    """The schools (or pending requests) a bulk action applies to: ticked ones, or every
    school matching the page's search and filters (``all_matching``), carried as the
    filter query and a flag rather than thousands of ids."""

    tab: str
    all_matching: bool
    query: QueryDict  # the search and filters, as understood
    filters: dict
    urns: list[str] = field(default_factory=list)
    request_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.all_matching and not self.urns and not self.request_ids

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The selection as (name, value) pairs for hidden inputs and links."""
        fields = [("tab", self.tab)]
        fields += [(key, value) for key in FILTER_KEYS for value in self.query.getlist(key)]
        if self.all_matching:
            fields.append(("all", "1"))
        else:
            fields += [("school", urn) for urn in self.urns]
            fields += [("request", str(pk)) for pk in self.request_ids]
        return fields

    def as_query(self) -> str:
        query = QueryDict(mutable=True)
        for key, value in self.hidden_fields():
            query.appendlist(key, value)
        return query.urlencode()


def selection_parse(data: QueryDict, *, type_names, clusters) -> Selection:
    """The selection in ``data`` (GET or POST). Values that are not URNs or ids are
    dropped and reported in ``problems``; whether they are the group's is the caller's
    check."""
    form = AgreementsForm(data, type_names=type_names, clusters=clusters)
    form.is_valid()
    problems = [str(error) for errors in form.errors.values() for error in errors]
    query = QueryDict(mutable=True)
    cleaned = form.cleaned_data
    if cleaned.get("q"):
        query["q"] = cleaned["q"]
    for key in ("phase", "type", "ofsted", "cluster"):
        if cleaned.get(key):
            query.setlist(key, cleaned[key])
    urns = list(dict.fromkeys(u for u in data.getlist("school") if URN_PATTERN.match(u)))
    numbers = [whole_number(value) for value in data.getlist("request")]
    ids = list(dict.fromkeys(number for number in numbers if number is not None))
    if len(urns) != len(set(data.getlist("school"))):
        problems.append("Some of the chosen schools were not recognised and were left out.")
    if None in numbers:
        problems.append("Some of the chosen requests were not recognised and were left out.")
    return Selection(
        tab=form.tab_key(),
        all_matching=data.get("all") in ("1", "true", "on"),
        query=query,
        filters=form.filters(),
        urns=urns,
        request_ids=ids,
        problems=problems,
    )


def level_choices(levels) -> list[tuple[int, str]]:
    return [(int(level), AccessLevel(level).label) for level in levels]


class SendForm(forms.Form):
    """Level, sender and recipients of a bulk send."""

    level = forms.TypedChoiceField(
        label="Access level",
        coerce=int,
        choices=level_choices(AccessLevel),
        error_messages={
            "required": "Choose the access level to ask for.",
            "invalid_choice": "Choose one of the access levels offered.",
        },
    )
    sender = forms.ModelChoiceField(
        label="From",
        queryset=None,
        empty_label=None,
        error_messages={
            "required": "Choose who the request is from.",
            "invalid_choice": "Choose someone from this group’s staff.",
        },
    )
    roles = forms.MultipleChoiceField(
        label="To",
        required=False,
        choices=[*((role, role) for role in RECIPIENT_ROLES), (ALL_ROLES, "Send to all")],
        error_messages={"invalid_choice": "Choose from the roles listed."},
    )
    # People chosen by name (staff profile ids): whether each may receive it is the
    # service's check (``agreement_requests_send``).
    people = forms.CharField(required=False)
    people_search = forms.CharField(required=False, max_length=100, strip=True)

    def __init__(self, data=None, *, senders, levels, **kwargs):
        levels = list(levels)
        if data is not None and len(levels) == 1 and not data.get("level"):
            # The only level that may be asked for is chosen: in the form as first shown,
            # in its preview and when it comes back with another field to correct.
            data = data.copy()
            data["level"] = str(int(levels[0]))
        super().__init__(data, **kwargs)
        self.fields["sender"].queryset = senders
        self.fields["sender"].label_from_instance = lambda p: (
            f"{p.user.display_name} ({p.user.email})" if p.user.full_name else p.user.email
        )
        self.fields["level"].choices = level_choices(levels)
        self.levels = list(levels)

    def clean(self):
        cleaned = super().clean()
        if self.data.getlist("people") and None in self._people_numbers():
            self.add_error("people", "Some of the chosen people were not recognised.")
        elif not cleaned.get("roles") and not self.people_chosen():
            self.add_error("roles", CHOOSE_RECIPIENTS)
        return cleaned

    def _people_numbers(self) -> list[int | None]:
        raw = self.data.getlist("people") if self.is_bound else self.initial.get("people", [])
        return [whole_number(value) for value in raw]

    def people_chosen(self) -> list[int]:
        """The staff profile ids ticked, as the data stands (values that are not ids are
        left out; ``clean`` reports them)."""
        return list(dict.fromkeys(n for n in self._people_numbers() if n is not None))

    def people_search_text(self) -> str:
        raw = self.data.get("people_search", "") if self.is_bound else ""
        return raw.strip()[:100]

    def roles_chosen(self) -> list[str]:
        """The roles ticked (all four for "Send to all"), as the data stands, valid or not."""
        raw = (
            self.cleaned_data.get("roles")
            if hasattr(self, "cleaned_data") and "roles" in self.cleaned_data
            else (self.data.getlist("roles") if self.is_bound else self.initial.get("roles", []))
        )
        return list(recipient_roles_chosen(raw))

    def level_chosen(self) -> int | None:
        raw = self.data.get("level") if self.is_bound else self.initial.get("level")
        try:
            level = int(raw)
        except (TypeError, ValueError):
            return None
        return level if level in self.levels else None

    def level_options(self):
        """(value, label, meaning, checked) for the radios."""
        chosen = self.level_chosen()
        return [
            (
                int(level),
                AccessLevel(level).label,
                LEVEL_MEANINGS[AccessLevel(level)],
                level == chosen,
            )
            for level in self.levels
        ]

    def role_options(self):
        """(value, label, checked) for the checkboxes, "Send to all" last."""
        raw = self.data.getlist("roles") if self.is_bound else self.initial.get("roles", [])
        return [(role, role, role in raw) for role in RECIPIENT_ROLES] + [
            (ALL_ROLES, "Send to all of these roles", ALL_ROLES in raw)
        ]
