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


RELEASE_CHOICES = [("census", "School census"), ("ks2", "Key stage 2"), ("ks4", "Key stage 4")]


class ReleaseTableForm(DashboardForm):
    """The query string of Analytics' census and performance table (page, export, API):
    the dashboard's filters, the release shown and the column it is sorted by."""

    release = forms.ChoiceField(
        label="Figures",
        required=False,
        choices=RELEASE_CHOICES,
        error_messages={
            "invalid_choice": "“%(value)s” is not one of the figures: census, ks2 or ks4."
        },
    )
    sort = forms.CharField(label="Sort by", required=False)

    def __init__(self, data, *, clusters: Iterable[Cluster], sort_keys: dict[str, tuple]):
        super().__init__(data, clusters=clusters)
        self.sort_keys = sort_keys  # release -> the fields it may be sorted by

    def clean_release(self) -> str:
        return self.cleaned_data.get("release") or "census"

    def clean(self):
        cleaned = super().clean()
        release = cleaned.get("release") or "census"
        cleaned["release"] = release
        sort = (cleaned.get("sort") or "").strip() or "name"
        if sort.removeprefix("-") not in self.sort_keys[release]:
            self.add_error("sort", f"“{_shown(sort)}” is not a column of this table.")
            sort = "name"
        cleaned["sort"] = sort
        return cleaned

    def chosen_release(self) -> str:
        return getattr(self, "cleaned_data", {}).get("release") or "census"

    def chosen_sort(self) -> str:
        return getattr(self, "cleaned_data", {}).get("sort") or "name"

    def query(self) -> QueryDict:
        query = super().query()
        query["release"] = self.chosen_release()
        if self.chosen_sort() != "name":
            query["sort"] = self.chosen_sort()
        return query
