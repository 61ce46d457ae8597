"""Every scenario ``bench/run`` runs, in this order. To add one, write a module here with a
function decorated by ``bench.harness.scenario`` and list it below (see bench/README.md).

Scenarios may rely on what an earlier one left in the bench database (the imported
register), but must also work alone: ``bench/run typo_search``.
"""

from .app_api import app_api
from .browse import browse_institutions
from .bulk_send import bulk_send
from .ctf_import import ctf_import
from .dashboard import dashboard
from .email_drain import email_drain
from .faults import fault_postgres_restart, fault_redis_down, fault_smtp, fault_worker_kill
from .gias_import import gias_import_vs_copy
from .http_load import http_load
from .register_save import register_save
from .rollup_refresh import rollup_refresh
from .typo_search import typo_search

SCENARIOS = [
    gias_import_vs_copy,
    typo_search,
    browse_institutions,
    email_drain,
    bulk_send,
    ctf_import,
    dashboard,
    rollup_refresh,
    register_save,
    app_api,
    http_load,
    fault_smtp,
    fault_worker_kill,
    fault_redis_down,
    fault_postgres_restart,
]
