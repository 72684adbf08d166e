"""Shared shapes of CRM records."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from nightshift.core.models import AuditedModel


class ReferenceData(AuditedModel):
    """A configuration record picked from lists and matched by code in imports and process
    criteria (subscription types, price plans, warehouses, …)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
