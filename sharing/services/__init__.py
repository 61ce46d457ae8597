"""Writes to data sharing agreements and requests, one module per subject. Callers import
from the subject's module; this package re-exports nothing.

- ``agreements``: an agreement's level, raised and never lowered; automated agreements
- ``requests``: the group side's bulk requests (send, remind, withdraw)
- ``outcomes``: what a bulk action did at each school, and its summary in plain words
- ``decisions``: the school side's answer to a request (approve, decline)
- ``forwarding``: a recipient at the school forwards a request to a colleague ("not me")
- ``endings``: agreements end (and pending requests are withdrawn) when a school leaves
  the group, in the membership change's transaction
- ``guards``: what the services check before writing (who may act, a valid level)
"""
