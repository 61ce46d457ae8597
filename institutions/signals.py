"""What the register tells the apps above it, without knowing them (institutions imports
no feature app): they connect receivers in their ``AppConfig.ready``.

``memberships_ended`` is sent inside the transaction that ends memberships (the register
import, platform support's ``membership_end``), once per change however many ended, with
``ended`` (a list of ``(group id, school id)``), ``left_on`` (the date) and ``actor``
(``accounts.audit.Actor``). A receiver's error undoes the whole change: a school never
leaves a group while what depended on its membership stays as it was.
"""

from django.dispatch import Signal

memberships_ended = Signal()
