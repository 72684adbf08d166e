"""The three role groups of the organization and the permissions each holds.

Synced after every migrate, so a permission added by a new model reaches its group without a
hand-written data migration.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

OPERATORS = "Operators"
ARCHIVISTS = "Archivists"
ADMINISTRATORS = "Administrators"

ROLE_DESCRIPTIONS = {
    OPERATORS: _("Run the back office: view CRM records, define, submit and follow runs."),
    ARCHIVISTS: _("The designated users who may archive data and download or delete archives."),
    ADMINISTRATORS: _("Everything, including the scheduler and the organization settings."),
}

# Apps whose records operators read (they change them only through runs and imports).
CRM_APPS = ("crm", "mail")


def role_permissions() -> dict[str, Q]:
    return {
        OPERATORS: Q(content_type__app_label__in=CRM_APPS, codename__startswith="view_")
        | Q(content_type__app_label="runs", codename__startswith="view_")
        | Q(
            content_type__app_label="core", codename__in=["operate_runs", "view_unit", "view_team"]
        ),
        # An archivist defines, submits and follows archive runs like any run, and manages
        # the archives.
        ARCHIVISTS: Q(content_type__app_label="core", codename__in=["archive_data", "operate_runs"])
        | Q(content_type__app_label__in=CRM_APPS, codename__startswith="view_")
        | Q(content_type__app_label__in=["runs", "archiving"], codename__startswith="view_"),
        ADMINISTRATORS: Q(),
    }


def sync_role_groups(**kwargs) -> None:
    """Create the role groups and grant each its permissions (idempotent)."""
    using = kwargs.get("using", "default")
    for name, query in role_permissions().items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(*Permission.objects.using(using).filter(query))
