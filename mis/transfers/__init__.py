"""A pupil leaving a school and arriving at the next one.

Taking a pupil off roll records the leaving date, the statutory ground and where the pupil
went. When the next school is on the platform, the leaving school's off-roll writes a
pending arrival at it (``mis.models.PupilArrival``): the pupil's transferable record,
exactly what a Common Transfer File carries, read at the source inside the source's
Row-Level Security scope and written at the destination inside the destination's. The
destination accepts it (matched by UPN, never merged with someone else) or rejects it.
Attendance marks never move: they stay with the school that recorded them, and the record
carries their yearly summary. A next school off the platform gets a CTF file instead.
"""
