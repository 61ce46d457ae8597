"""Business roles of a site: the list with holder counts, creating, renaming, retiring and
reinstating a role, its permissions (and a group role's in-school set), and the "check
access to a page" tool. Pages under /staff/roles/, REST under /api/v1/roles/.
"""
