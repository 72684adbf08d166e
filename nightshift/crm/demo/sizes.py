"""How much demo data each ``--size`` loads.

Only the primary volumes are listed; every other record is derived from them by the generator
(e.g. one subscription for roughly every 2.5 contacts), so the three sizes keep the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSize:
    """The volumes of one demo size."""

    name: str
    contacts: int
    customer_events: int
    leads: int
    account_managers: int
    field_technicians: int

    @property
    def subscriptions(self) -> int:
        return self.contacts * 2 // 5

    @property
    def provisioning_requests(self) -> int:
        return self.customer_events // 10

    @property
    def rated_billing_items(self) -> int:
        return self.customer_events // 5

    @property
    def opportunities(self) -> int:
        return self.contacts // 2

    @property
    def tasks(self) -> int:
        return self.contacts // 2

    @property
    def dispatches(self) -> int:
        return max(self.contacts // 10, 20)

    @property
    def calendar_events(self) -> int:
        return self.contacts // 4

    @property
    def actions(self) -> int:
        return self.contacts

    @property
    def parc_agreements(self) -> int:
        return max(self.contacts // 25, 10)

    @property
    def devices(self) -> int:
        return self.contacts // 3

    @property
    def vouchers(self) -> int:
        return self.contacts // 4

    @property
    def reward_codes(self) -> int:
        return max(self.contacts // 20, 30)

    @property
    def email_messages(self) -> int:
        return self.contacts * 2


SIZES: dict[str, DemoSize] = {
    # Loads in a few seconds: the size tests and `make run` use.
    "small": DemoSize(
        name="small",
        contacts=500,
        customer_events=20_000,
        leads=200,
        account_managers=8,
        field_technicians=4,
    ),
    "medium": DemoSize(
        name="medium",
        contacts=20_000,
        customer_events=200_000,
        leads=4_000,
        account_managers=30,
        field_technicians=12,
    ),
    # Feeds the benchmarks: archiving and the event-driven processes need a million rows.
    "large": DemoSize(
        name="large",
        contacts=100_000,
        customer_events=1_000_000,
        leads=10_000,
        account_managers=60,
        field_technicians=24,
    ),
}
