"""School site: taking a pupil off roll (from the pupil's page) and the pupils arriving
from other schools on the platform (Students > Arrivals). Reading needs Students at View
(a hop's reads are recorded for the school); taking off roll, accepting and rejecting need
Students at Administer."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.audit import actor_from_request
from accounts.permissions import STUDENTS, Access, request_has_permission
from matmis.site_access import SiteKind
from matmis.views import SitePageView
from mis.models import OutsideReadKind, PupilArrival
from mis.outside_reads import RecordsOutsideReads
from mis.selectors import pupil_for_id

from .forms import ArrivalAcceptForm, ArrivalRejectForm, OffRollForm
from .selectors import arrival_for_id, arrival_list, arrival_match
from .services import arrival_accept, arrival_reject, pupil_take_off_roll

SEE = (STUDENTS, Access.VIEW)
ADMINISTER = (STUDENTS, Access.ADMINISTER)
DECIDED_SHOWN = 50


def form_errors_from(form, error: ValidationError) -> None:
    """A service's refusal onto the form: by field where it names one the form has."""
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


class PupilOffRollView(SitePageView):
    """/students/<id>/off-roll/: the last day, the statutory ground and the next school;
    a next school on the platform receives the pupil's record as a pending arrival, any
    other is offered a CTF file to send."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": ADMINISTER, "POST": ADMINISTER}

    def get(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        return self._render(request, pupil, OffRollForm())

    def post(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        form = OffRollForm(request.POST)
        if form.is_valid():
            try:
                outcome = pupil_take_off_roll(
                    site=request.site,
                    pupil_id=pupil.pk,
                    actor=actor_from_request(request),
                    **form.cleaned_data,
                )
            except ValidationError as error:
                form_errors_from(form, error)
            else:
                left = outcome.pupil
                text = f"{left.name} is off roll from {left.left_on:%d/%m/%Y}."
                if outcome.sent_to is not None:
                    text += f" {outcome.sent_to.name} can now see and accept their record."
                elif outcome.ctf_needed:
                    text += " Their next school is not on this platform: send it their CTF."
                messages.success(request, text)
                return redirect("mis:pupil", pupil_id=left.pk)
        return self._render(request, pupil, form, status=400)

    def _render(self, request, pupil, form, status=200):
        return render(
            request,
            "mis/transfers/off_roll.html",
            {"pupil": pupil, "form": form, "today": timezone.localdate()},
            status=status,
        )


class ArrivalListView(RecordsOutsideReads, SitePageView):
    """/students/arrivals/: pupils other schools on the platform sent here, waiting first,
    then the latest decided."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE}
    outside_read = OutsideReadKind.ARRIVALS

    def get(self, request: HttpRequest) -> HttpResponse:
        site = request.site
        return render(
            request,
            "mis/transfers/arrivals.html",
            {
                "pending": list(arrival_list(site=site, state=PupilArrival.State.PENDING)),
                "decided": list(
                    arrival_list(site=site).exclude(state=PupilArrival.State.PENDING)[
                        :DECIDED_SHOWN
                    ]
                ),
            },
        )


class ArrivalView(RecordsOutsideReads, SitePageView):
    """/students/arrivals/<id>/: the arriving pupil's record and how it matches this
    school's pupils; POST ``decision=accept`` (with the first day) or ``decision=reject``
    (with the reason)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE, "POST": ADMINISTER}
    outside_read = OutsideReadKind.ARRIVALS

    def get(self, request: HttpRequest, arrival_id: int) -> HttpResponse:
        arrival = arrival_for_id(site=request.site, arrival_id=arrival_id)
        return self._render(request, arrival, ArrivalAcceptForm(), ArrivalRejectForm())

    def post(self, request: HttpRequest, arrival_id: int) -> HttpResponse:
        site, actor = request.site, actor_from_request(request)
        arrival = arrival_for_id(site=site, arrival_id=arrival_id)
        accept_form, reject_form = ArrivalAcceptForm(), ArrivalRejectForm()
        if request.POST.get("decision") == "reject":
            reject_form = ArrivalRejectForm(request.POST)
            if reject_form.is_valid():
                try:
                    arrival_reject(
                        site=site,
                        arrival_id=arrival.pk,
                        reason=reject_form.cleaned_data["reason"],
                        actor=actor,
                    )
                except ValidationError as error:
                    form_errors_from(reject_form, error)
                else:
                    messages.success(
                        request, f"The transfer from {arrival.from_school} was rejected."
                    )
                    return redirect("mis:arrivals")
        else:
            accept_form = ArrivalAcceptForm(request.POST)
            if accept_form.is_valid():
                try:
                    pupil = arrival_accept(
                        site=site,
                        arrival_id=arrival.pk,
                        enrolled_on=accept_form.cleaned_data["enrolled_on"],
                        actor=actor,
                    )
                except ValidationError as error:
                    form_errors_from(accept_form, error)
                else:
                    messages.success(
                        request, f"{pupil.name} is on roll from {pupil.enrolled_on:%d/%m/%Y}."
                    )
                    return redirect("mis:pupil", pupil_id=pupil.pk)
        return self._render(request, arrival, accept_form, reject_form, status=400)

    def _render(self, request, arrival, accept_form, reject_form, status=200):
        match = arrival_match(site=request.site, arrival=arrival)
        return render(
            request,
            "mis/transfers/arrival.html",
            {
                "arrival": arrival,
                "match": match,
                "record": match.record,
                "accept_form": accept_form,
                "reject_form": reject_form,
                "may_administer": request_has_permission(request, *ADMINISTER),
            },
            status=status,
        )
