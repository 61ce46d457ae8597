"""Writes to a school's own records, by subject: pupils on the roll (``pupils``),
registration groups (``groups``) and registers with their amendments (``registers``).

Every function takes the school (or an object of it) and ``actor=``, validates before it
saves, raises ``django.core.exceptions.ValidationError`` with a specific message when the
input is refused (and then changes nothing), and writes its audit event in the same
transaction. Callers run inside the school's scope (every request to its host does)."""
