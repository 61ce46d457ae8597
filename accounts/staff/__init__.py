"""Staff: the people who work at a site, their business roles (what each grants, with
dates in force) and, on a group site, the schools they are associated with.

``selectors`` and ``services``: reads and writes (the users and staff profiles the demo
data and support tooling ensure, too); the pages: ``views``, ``forms``, ``urls``; the REST
endpoints: ``api``, ``api_urls``. Whether someone may do something is
``accounts.permissions``.
"""
