"""The processes Nightshift ships with, one module per process. Importing this package
registers them all (``autodiscover`` does it at start-up)."""

from nightshift.processes.builtin import (  # noqa: F401 — each module registers its process
    account_complementary_data,
    account_movement,
    account_status,
    birthdays,
    bug_detector,
    class_transition,
    expired_jobs,
    lead_nurture,
    past_due_invoices,
    short_term_deactivation,
    suppression_list,
)
