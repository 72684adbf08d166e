"""The processes Nightshift ships with, one module per process. Importing this package
registers them all (``autodiscover`` does it at start-up)."""

from nightshift.processes.builtin import short_term_deactivation  # noqa: F401
