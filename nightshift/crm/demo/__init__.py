"""Deterministic demo data: ``nightshift demo [--size small|medium|large] [--seed N]``."""

from nightshift.crm.demo.generator import (
    DEMO_PASSWORDS,
    DatabaseNotEmptyError,
    DemoResult,
    Reporter,
    Scenario,
    existing_data,
    generate_demo,
)
from nightshift.crm.demo.sizes import SIZES, DemoSize

__all__ = [
    "DEMO_PASSWORDS",
    "SIZES",
    "DatabaseNotEmptyError",
    "DemoResult",
    "DemoSize",
    "Reporter",
    "Scenario",
    "existing_data",
    "generate_demo",
]
