"""Registration groups (form or tutor groups): create, rename, and choose their teachers.
A pupil joins a group through their own record (``pupils.pupil_edit``)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit
from accounts.models import AuditAction, StaffProfile
from institutions.models import Institution

from ..models import RegistrationGroup, RegistrationGroupTeacher

NAME_MAX = RegistrationGroup._meta.get_field("name").max_length


def _clean_name(*, site: Institution, name: str, group: RegistrationGroup | None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Enter the group’s name, for example 4B or 7KM."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"A group’s name has {NAME_MAX} characters or fewer."})
    clash = RegistrationGroup.objects.filter(site=site, name__iexact=name)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise ValidationError({"name": f"The school already has a group called “{name}”."})
    return name


def _teachers(*, site: Institution, profile_ids) -> list[StaffProfile]:
    """The school's active staff with these ids; any other id is refused as a whole."""
    wanted = set(profile_ids)
    found = list(StaffProfile.objects.filter(site=site, is_active=True, pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationError(
            {"teachers": "Choose teachers from the school’s current staff: one is not."}
        )
    return found


@transaction.atomic
def registration_group_create(
    *, site: Institution, name: str, teacher_ids=(), actor: audit.Actor
) -> RegistrationGroup:
    name = _clean_name(site=site, name=name, group=None)
    teachers = _teachers(site=site, profile_ids=teacher_ids)
    group = RegistrationGroup.objects.create(site=site, name=name)
    RegistrationGroupTeacher.objects.bulk_create(
        RegistrationGroupTeacher(site=site, group=group, profile=profile) for profile in teachers
    )
    audit.record(
        actor=actor,
        action=AuditAction.REGISTRATION_GROUP_CHANGED,
        target=f"Registration group {name}",
        detail={"group": group.pk, "created": True, "teachers": sorted(t.pk for t in teachers)},
        site=site,
    )
    return group


@transaction.atomic
def registration_group_change(
    *, group: RegistrationGroup, name: str, teacher_ids, actor: audit.Actor
) -> RegistrationGroup:
    """Rename the group and make ``teacher_ids`` exactly its teachers."""
    site = group.site
    group = RegistrationGroup.objects.select_for_update().get(site=site, pk=group.pk)
    name = _clean_name(site=site, name=name, group=group)
    teachers = {profile.pk: profile for profile in _teachers(site=site, profile_ids=teacher_ids)}
    current = set(
        RegistrationGroupTeacher.objects.filter(site=site, group=group).values_list(
            "profile_id", flat=True
        )
    )
    added, removed = set(teachers) - current, current - set(teachers)
    if name == group.name and not added and not removed:
        return group
    before = group.name
    if name != group.name:
        group.name = name
        group.save(update_fields=["name"])
    if removed:
        RegistrationGroupTeacher.objects.filter(
            site=site, group=group, profile_id__in=removed
        ).delete()
    RegistrationGroupTeacher.objects.bulk_create(
        RegistrationGroupTeacher(site=site, group=group, profile=teachers[pk]) for pk in added
    )
    audit.record(
        actor=actor,
        action=AuditAction.REGISTRATION_GROUP_CHANGED,
        target=f"Registration group {name}",
        detail={
            "group": group.pk,
            "name": [before, name],
            "teachers_added": sorted(added),
            "teachers_removed": sorted(removed),
        },
        site=site,
    )
    return group
