"""Forms of the institutions pages: they parse and check what a person sent; the rules
about clusters live in ``institutions.services``."""

from collections.abc import Iterable

from django import forms

from .models import Cluster, Institution, OfstedGrade, Phase
from .selectors import OFSTED_NONE, OFSTED_NONE_LABEL, RELEVANCE, SORTS, URN_PATTERN
from .services import CLUSTER_NAME_MAX, NOT_THE_GROUPS_SCHOOLS

SEARCH_MAX = 100


class FilterChoiceField(forms.MultipleChoiceField):
    """The ticked options of one filter. Values it does not know are reported by
    ``BrowseForm.clean`` without throwing away the ones it does."""

    def validate(self, value) -> None:
        """Each value is checked in ``BrowseForm.clean``."""


def _shown(value: str) -> str:
    """A value from the address bar, short enough to quote back in a message."""
    return value if len(value) <= 40 else value[:39] + "…"


class BrowseForm(forms.Form):
    """The query string of Browse Institutions (and of ``GET /api/v1/institutions/``).

    Bound to ``request.GET`` even when it is empty. A value that is not recognised is
    reported as an error on its field, and the search runs without it: an old bookmark
    shows what still makes sense and says what was left out.
    """

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=SEARCH_MAX,
        error_messages={"max_length": f"Search for {SEARCH_MAX} characters or fewer."},
    )
    phase = FilterChoiceField(label="Phase", required=False, choices=Phase.choices)
    type = FilterChoiceField(label="Type", required=False)
    ofsted = FilterChoiceField(
        label="Ofsted",
        required=False,
        choices=[*OfstedGrade.choices, (OFSTED_NONE, OFSTED_NONE_LABEL)],
    )
    cluster = FilterChoiceField(label="Cluster", required=False)
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[("", "Best match, or name"), (RELEVANCE, "Best match"), *SORTS.items()],
        error_messages={"invalid_choice": "That is not a way to sort this list."},
    )

    # What each filter's unknown values are not, for the message.
    UNKNOWN = {
        "phase": "“{}” is not a phase of education.",
        "type": "“{}” is not a type of school in this group.",
        "ofsted": "“{}” is not an Ofsted grade.",
        "cluster": "“{}” is not one of this group’s clusters.",
    }

    def __init__(self, data, *, type_names: Iterable[str], clusters: Iterable[Cluster]):
        super().__init__(data)
        self.fields["type"].choices = [(name, name) for name in type_names]
        self.fields["cluster"].choices = [(str(cluster.pk), cluster.name) for cluster in clusters]

    def clean(self):
        cleaned = super().clean()
        for name, message in self.UNKNOWN.items():
            values = list(dict.fromkeys(cleaned.get(name) or ()))
            field = self.fields[name]
            known = [value for value in values if field.valid_value(value)]
            for value in values:
                if value not in known:
                    self.add_error(name, message.format(_shown(value)))
            # add_error drops the field from cleaned_data: keep the values that were fine.
            cleaned[name] = known
        return cleaned

    def filters(self) -> dict:
        """Keyword arguments for ``group_school_list``/``group_school_facets`` from the
        values that passed (call after ``is_valid()``, whatever it answered)."""
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q") or None,
            "phases": tuple(data.get("phase") or ()),
            "types": tuple(data.get("type") or ()),
            "ofsted": tuple(data.get("ofsted") or ()),
            "clusters": tuple(int(pk) for pk in data.get("cluster") or ()),
        }

    def sort_key(self) -> str:
        """The sort asked for; without one, best match while searching, else name."""
        data = getattr(self, "cleaned_data", {})
        chosen = data.get("sort") or ""
        if chosen:
            return chosen
        return RELEVANCE if data.get("q") else "name"

    def is_filtered(self) -> bool:
        return any(self.filters().values())

    @classmethod
    def search_and_sort(cls, data) -> tuple[str | None, str]:
        """The search and the sort key alone, before the group's types and clusters are
        known: neither depends on them (Browse reads both from one pass)."""
        form = cls(data, type_names=(), clusters=())
        form.is_valid()
        return form.filters()["search"], form.sort_key()


class ClusterNameForm(forms.Form):
    name = forms.CharField(
        label="Cluster name",
        max_length=CLUSTER_NAME_MAX,
        error_messages={
            "required": "Enter a name for the cluster.",
            "max_length": f"Cluster names must be {CLUSTER_NAME_MAX} characters or fewer.",
        },
    )


class SchoolsByUrnField(forms.ModelMultipleChoiceField):
    """Schools chosen by URN among ``queryset``; anything else is refused as a whole."""

    def clean(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        if any(not isinstance(v, str) or not URN_PATTERN.match(v) for v in values):
            raise forms.ValidationError(NOT_THE_GROUPS_SCHOOLS, code="invalid_choice")
        return super().clean(value)


class ClusterSchoolsForm(forms.Form):
    """The schools ticked for a cluster: only the group's current schools are accepted."""

    schools = SchoolsByUrnField(
        queryset=Institution.objects.none(),
        to_field_name="urn",
        required=False,
        error_messages={
            "invalid_choice": NOT_THE_GROUPS_SCHOOLS,
            "invalid_pk_value": NOT_THE_GROUPS_SCHOOLS,
            "invalid_list": "Choose schools from the list.",
        },
    )

    def __init__(self, data=None, *, schools, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["schools"].queryset = schools
