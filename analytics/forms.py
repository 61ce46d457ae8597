"""The query string of the Analytics dashboard (page, CSV export and API): clusters, phases
and "only schools I am associated with". A value it does not recognise is reported and left
out; the rest still apply, so an old bookmark shows what still makes sense."""

from collections.abc import Iterable

from django import forms
from django.http import QueryDict

from institutions.forms import FilterChoiceField
from institutions.models import Cluster
from institutions.selectors import PHASE_ORDER

from .selectors import DashboardFilters

MINE_TRUE = ("1", "true", "on", "yes")
MINE_FALSE = ("", "0", "false", "off", "no")


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:39] + "…"


class DashboardForm(forms.Form):
    cluster = FilterChoiceField(label="Cluster", required=False)
    phase = FilterChoiceField(
        label="Phase",
        required=False,
        choices=[(phase.value, phase.value) for phase in PHASE_ORDER],  # as the register names them
    )
    mine = forms.CharField(label="Only schools I am associated with", required=False)

    UNKNOWN = {
        "cluster": "“{}” is not one of this group’s clusters.",
        "phase": "“{}” is not a phase of education.",
    }

    def __init__(self, data, *, clusters: Iterable[Cluster]):
        super().__init__(data)
        self.fields["cluster"].choices = [(str(cluster.pk), cluster.name) for cluster in clusters]

    def clean_mine(self) -> bool:
        value = (self.cleaned_data.get("mine") or "").strip().lower()
        if value in MINE_TRUE:
            return True
        if value not in MINE_FALSE:
            raise forms.ValidationError(
                f"“{_shown(value)}” is not understood for “Only schools I am associated with”: "
                "tick the box or leave it empty."
            )
        return False

    def clean(self):
        cleaned = super().clean()
        for name, message in self.UNKNOWN.items():
            values = list(dict.fromkeys(cleaned.get(name) or ()))
            known = [value for value in values if self.fields[name].valid_value(value)]
            for value in values:
                if value not in known:
                    self.add_error(name, message.format(_shown(value)))
            cleaned[name] = known  # add_error dropped the field: keep the good values
        if "mine" not in cleaned:
            cleaned["mine"] = False
        return cleaned

    def filters(self) -> DashboardFilters:
        """The filters that passed (call after ``is_valid()``, whatever it answered)."""
        data = getattr(self, "cleaned_data", {})
        return DashboardFilters(
            clusters=tuple(int(pk) for pk in data.get("cluster") or ()),
            phases=tuple(data.get("phase") or ()),
            mine=bool(data.get("mine")),
        )

    def query(self) -> QueryDict:
        """The query string as understood: unknown values dropped, for links and export."""
        filters = self.filters()
        query = QueryDict(mutable=True)
        if filters.clusters:
            query.setlist("cluster", [str(pk) for pk in filters.clusters])
        if filters.phases:
            query.setlist("phase", list(filters.phases))
        if filters.mine:
            query["mine"] = "1"
        return query
