"""Two-factor sign-in: an authenticator app (TOTP) with single-use backup codes.

A person has at most one confirmed authenticator device and one set of backup codes; both
belong to the person, so they apply at every site where that person signs in. A session is
*verified* once the person has given a code in it (django-otp's ``login``); a sign-in with
a device never starts without one (see ``accounts.identity.sign_in``).

``gate``: the one rule every page and API endpoint of a site applies; ``codes``: what the
codes look like; ``enrolment``: the secret offered while setting up an app; ``selectors``
and ``services``: reads and writes; the pages to set it up, see the backup codes and turn it
off, and the site's security policy page: ``views``, ``forms``, ``urls``.
"""
