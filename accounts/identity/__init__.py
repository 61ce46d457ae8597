"""Who someone is: signing in (email and password, then a two-factor code where the person
has set it up), throttling and lock-out of failed attempts, signing out, and password reset.

``sign_in``: the rules and state of signing in and who may be sent a reset link; the pages:
``views``, ``forms``, ``urls``.
"""
