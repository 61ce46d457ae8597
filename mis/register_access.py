"""Who may take a register and amend its marks: the one answer, for pages and API alike.

Staff with Attendance at Administer may take and amend any register of the school; a
group's own teachers (staff of the school named on the group) may take and amend their
group's registers with Attendance at View, which every seeded school role that teaches has.
Reading a register needs Attendance at View. Someone logged in from a group site (a hop)
acts with their role's in-school set only: never as one of the group's teachers."""

from django.http import HttpRequest

from accounts.audit import HOP_GROUP_ATTR
from accounts.permissions import ATTENDANCE, STUDENTS, Access, request_has_permission

from .models import RegistrationGroup
from .register_selectors import is_group_teacher

SEE_REGISTERS = (ATTENDANCE, Access.VIEW)
# Taking a register is checked past the page's gate by ``request_may_take_register``.
TAKE_REGISTERS = (ATTENDANCE, Access.VIEW)
MANAGE_REGISTER_SETTINGS = (ATTENDANCE, Access.ADMINISTER)
SEE_GROUPS = (STUDENTS, Access.VIEW)


def request_may_take_register(request: HttpRequest, group: RegistrationGroup) -> bool:
    if request_has_permission(request, ATTENDANCE, Access.ADMINISTER):
        return True
    if getattr(request, HOP_GROUP_ATTR, None) is not None:
        return False
    return is_group_teacher(site=request.site, group=group, user=request.user)


REFUSED_TAKING = (
    "Only this group’s teachers, and staff with Attendance at Administer, may take or amend "
    "its registers."
)
