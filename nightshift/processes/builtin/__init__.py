"""The processes Nightshift ships with, one module per process. Importing this package
registers them all (``autodiscover`` does it at start-up)."""

import nightshift.processes.builtin.birthdays
import nightshift.processes.builtin.bug_detector
import nightshift.processes.builtin.expired_jobs
import nightshift.processes.builtin.past_due_invoices
import nightshift.processes.builtin.suppression_list  # noqa: F401
from nightshift.processes.builtin import short_term_deactivation  # noqa: F401
