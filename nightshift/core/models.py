"""The shared kernel: log information on every record, and the organization structure."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nightshift.core.audit import current_actor, stamp

__all__ = ["AuditedModel", "AuditedQuerySet", "Capability", "Team", "Unit", "UserProfile"]


class AuditedQuerySet(models.QuerySet):
    """Bulk writes stamp the log information too, so no path leaves it blank."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)  # iterated twice: stamping here, then the insert
        actor = current_actor()
        now = timezone.now()
        for obj in objs:
            obj.updated_at = obj.updated_at or now
            obj.created_at = obj.created_at or now
            if actor is not None:
                obj.created_by_id = obj.created_by_id or actor.user_id
                obj.created_by_unit_id = obj.created_by_unit_id or actor.unit_id
                obj.updated_by_id = obj.updated_by_id or actor.user_id
                obj.updated_by_unit_id = obj.updated_by_unit_id or actor.unit_id
        return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs):
        return super().update(**stamp(kwargs, creating=False))


def stamp_link(to: str, verbose_name) -> models.ForeignKey:
    """A log-information link (who created or updated a record, from which unit).

    A soft reference: no index and no database constraint. The stamps are written by the
    application from the signed-in actor, never typed in; nothing searches records by them; and
    on PostgreSQL a checked, indexed link costs every bulk write (an import, an archive run, the
    engine's own writes) a lookup of the user or unit and an index entry per row and link: about
    40 % of a contact import's time in the database. Deleting a user or a unit through the
    application still clears the stamps (``SET_NULL`` is Django's, not the database's)."""
    return models.ForeignKey(
        to,
        verbose_name=verbose_name,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )


class AuditedModel(models.Model):
    """The manuals' "Log information": who created and last updated a record, from which unit,
    and when. Filled from the current actor (see ``nightshift.core.audit``) on every save and on
    bulk inserts and updates made through the model's manager."""

    created_by = stamp_link(settings.AUTH_USER_MODEL, _("created by user"))
    created_by_unit = stamp_link("core.Unit", _("created by unit"))
    updated_by = stamp_link(settings.AUTH_USER_MODEL, _("updated by user"))
    updated_by_unit = stamp_link("core.Unit", _("updated by unit"))
    # A default rather than auto_now_add: imports and demo data carry real creation dates, and
    # archiving selects by them.
    created_at = models.DateTimeField(_("date created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("date updated"), default=timezone.now, editable=False)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        creating = self._state.adding
        actor = current_actor()
        self.updated_at = timezone.now()
        if actor is not None:
            self.updated_by_id = actor.user_id
            self.updated_by_unit_id = actor.unit_id
            if creating and self.created_by_id is None:
                self.created_by_id = actor.user_id
                self.created_by_unit_id = actor.unit_id
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {
                *update_fields,
                "updated_at",
                "updated_by",
                "updated_by_unit",
            }
        super().save(*args, **kwargs)


class Unit(AuditedModel):
    """A business unit of the organization; every user belongs to one."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.name


class Team(AuditedModel):
    """A group of users that work is dispatched to (e.g. the PARC visiting team)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="teams"
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("leader"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class UserProfile(AuditedModel):
    """What the organization knows of a user beyond Django's account: the unit they act for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="profile",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return str(self.user)


class Capability(models.Model):
    """Holds the permissions that belong to no single record (no table is created)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("operate_runs", _("Can define, submit, stop and delete process runs")),
            ("control_scheduler", _("Can start and put the scheduler in standby")),
            ("archive_data", _("Can archive data, and download, delete and restore archives")),
        ]

    def __str__(self) -> str:
        return "capability"
