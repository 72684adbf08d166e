"""The areas of the Utilities menu: one row per area, each served by its app, shared by the
navigation (which offers an area to the users who may open it) and the pages that link to it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

__all__ = ["UTILITY_AREAS", "Area", "get_area"]


@dataclass(frozen=True)
class Area:
    """One Utilities area. ``slug`` names it; ``url_name`` is the route of the app that serves
    it; ``permission`` is what a user needs to open it (the navigation shows it only to them)."""

    slug: str
    title: Promise
    summary: Promise
    url_name: str
    permission: str

    def is_open_to(self, user) -> bool:
        return user.has_perm(self.permission)

    def url(self) -> str:
        return reverse(self.url_name)


UTILITY_AREAS: tuple[Area, ...] = (
    Area(
        "scheduler",
        _("Scheduler"),
        _(
            "Holds the tasks created when run definitions are submitted and fires them now, "
            "once at a set time or repeatedly, while the scheduler is running rather than in "
            "standby."
        ),
        url_name="runs:scheduler",
        permission="runs.view_scheduledtask",
    ),
    Area(
        "definitions",
        _("Run definitions"),
        _(
            "Describes each process to run: the records it selects, its settings, its schedule "
            "and its throttling, keeping every change as a new version."
        ),
        url_name="runs:definitions",
        permission="runs.view_rundefinition",
    ),
    Area(
        "board",
        _("Batch Process Admin Board"),
        _(
            "Follows every process run in one place, with its progress, the outcome of each "
            "record and its log, and lets you stop a run or delete one that has not started."
        ),
        url_name="runs:board",
        permission="runs.view_processrun",
    ),
    Area(
        "imports",
        _("Imports"),
        _(
            "Brings records from other systems into the CRM from CSV, Excel or OpenDocument "
            "files, with a template per entity and a file of the rows that were rejected."
        ),
        url_name="imports:list",
        permission="runs.view_processrun",
    ),
    Area(
        "exports",
        _("Exports"),
        _(
            "Writes CRM records to CSV or Excel files for other systems, on demand or on a "
            "schedule."
        ),
        url_name="exports:list",
        permission="runs.view_processrun",
    ),
    Area(
        "archives",
        _("Archives"),
        _(
            "Compresses data older than a number of months into archives kept in the database "
            "to save space; designated users download or delete them after re-entering their "
            "password."
        ),
        url_name="archiving:archives",
        permission="archiving.view_archive",
    ),
    Area(
        "mailboxes",
        _("Mailboxes"),
        _(
            "Connects the mailboxes the inbound e-mail process reads over IMAP, storing their "
            "new messages once, linked to contacts and leads and threaded."
        ),
        url_name="inbox:mailboxes",
        permission="inbox.view_mailbox",
    ),
    Area(
        "class-transition-rules",
        _("Class transition rules"),
        _(
            "Sets when customers move between classes (accumulated purchases within N months, "
            "or no purchase for N months); the class transition routine applies them."
        ),
        url_name="erp:rules",
        permission="crm.view_classtransitionrule",
    ),
    Area(
        "mail",
        _("Mail"),
        _(
            "Keeps the e-mail templates the processes send, with a preview on a real contact, "
            "and the suppression list of addresses that are never mailed."
        ),
        url_name="mail:templates",
        permission="mail.view_emailtemplate",
    ),
    Area(
        "logs",
        _("Logs"),
        _("Shows the daily log of what the scheduler and the process runs did, day by day."),
        url_name="runs:log",
        permission="runs.view_logentry",
    ),
)

_BY_SLUG = {area.slug: area for area in UTILITY_AREAS}


def get_area(slug: str) -> Area:
    """The area named ``slug``; a ``KeyError`` means the URLs and this table disagree."""
    return _BY_SLUG[slug]
