"""The processes Nightshift ships with, one module per process. Importing this package
registers them all (``autodiscover`` does it at start-up)."""

from nightshift.processes.builtin import account_complementary_data as account_complementary_data
from nightshift.processes.builtin import account_movement as account_movement
from nightshift.processes.builtin import account_status as account_status
from nightshift.processes.builtin import class_transition as class_transition
from nightshift.processes.builtin import short_term_deactivation  # noqa: F401
