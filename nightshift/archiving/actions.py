"""Every write on archives: the password check shared by all archive actions, starting an
archive run, downloading, deleting and restoring archives, and the organisation's minimum.

Views, the API and the CLI parse their input and call one of these. Each checks the
permission and the password, audits what it did and raises ``ValidationError`` (keyed by
field) or ``PermissionDenied`` with an operator-facing message.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from nightshift.archiving import codec
from nightshift.archiving.choices import ArchiveState, AuditAction
from nightshift.archiving.models import Archive, ArchiveAuditEntry, ArchiveChunk, ArchivingPolicy
from nightshift.archiving.references import archive_writes
from nightshift.archiving.registry import get_entity
from nightshift.core.audit import acting_as

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

    from nightshift.runs.models import RunDefinition

logger = logging.getLogger(__name__)

ARCHIVE = "core.archive_data"
# Wrong passwords a user may type in this window before every archive action is refused
# until it has passed: enough for typos, too few to guess a password.
MAX_PASSWORD_FAILURES = 5
PASSWORD_WINDOW = timedelta(minutes=15)


def audit(
    user: AbstractUser,
    action: str,
    *,
    archive: Archive | None = None,
    channel: str = "",
    detail: str = "",
) -> None:
    ArchiveAuditEntry.objects.create(
        user=user, action=action, archive=archive, channel=channel, detail=detail
    )


def password_failures(user: AbstractUser) -> int:
    """Wrong passwords ``user`` typed for archive actions within the window."""
    since = timezone.now() - PASSWORD_WINDOW
    return ArchiveAuditEntry.objects.filter(
        user=user, action=AuditAction.PASSWORD_REFUSED, at__gte=since
    ).count()


def confirm(
    *,
    user: AbstractUser,
    password: str | None,
    permission: str = ARCHIVE,
    what: str = "",
    archive: Archive | None = None,
    channel: str = "",
) -> None:
    """The designated user's permission and password, re-entered, for ``what``.

    Refusals are audited before they are raised, outside any transaction of the caller's
    action, so a wrong password is counted even though the action does not happen. After
    ``MAX_PASSWORD_FAILURES`` wrong passwords within ``PASSWORD_WINDOW`` the password is not
    even checked until the window has passed."""
    if not user.has_perm(permission):
        audit(user, AuditAction.PERMISSION_REFUSED, archive=archive, channel=channel, detail=what)
        raise PermissionDenied(
            _(
                "Only designated users (the Archivists group, permission “%(permission)s”) may "
                "%(what)s."
            )
            % {"permission": permission, "what": what}
        )
    failures = password_failures(user)
    if failures >= MAX_PASSWORD_FAILURES:
        raise PermissionDenied(
            _(
                "Too many wrong passwords (%(count)s in %(minutes)s minutes): archive actions "
                "are refused for %(user)s until the last of them is %(minutes)s minutes old."
            )
            % {
                "count": failures,
                "minutes": int(PASSWORD_WINDOW.total_seconds() // 60),
                "user": user.get_username(),
            }
        )
    if not password:
        raise ValidationError(
            {"password": _("Enter your password again to %(what)s.") % {"what": what}}
        )
    if not user.check_password(password):
        audit(user, AuditAction.PASSWORD_REFUSED, archive=archive, channel=channel, detail=what)
        left = MAX_PASSWORD_FAILURES - failures - 1
        raise ValidationError(
            {
                "password": _(
                    "The password is not correct; %(left)s attempts left before archive "
                    "actions are refused for %(minutes)s minutes."
                )
                % {"left": left, "minutes": int(PASSWORD_WINDOW.total_seconds() // 60)}
            }
        )


def set_minimum_months(*, user: AbstractUser, months: int) -> ArchivingPolicy:
    """Change the organisation's minimum age of archived data (administrators only)."""
    if not user.has_perm("archiving.change_archivingpolicy"):
        raise PermissionDenied(_("Only administrators may change the archiving minimum."))
    if months < 1:
        raise ValidationError({"minimum_months": _("The minimum must be at least 1 month.")})
    policy = ArchivingPolicy.get()
    policy.minimum_months = months
    policy.changed_by = user
    policy.changed_at = timezone.now()
    policy.save()
    return policy


def create_archive_definition(
    *, user: AbstractUser, entity: str, months: int, name: str = ""
) -> RunDefinition:
    """A run-now definition archiving ``entity`` (what ``nightshift archive`` and
    ``POST /archives/runs`` start from); submit it with ``submit_definition``."""
    from nightshift.runs import actions as runs

    if not user.has_perm(ARCHIVE):
        confirm(user=user, password=None, what=_("archive data"))
    label = name or _("Archive %(entity)s older than %(months)s months") % {
        "entity": entity,
        "months": months,
    }
    return runs.create_definition(
        user=user,
        process_key="archive_data",
        name=label[:200],
        parameters={"entity": entity, "months": months},
        schedule={"mode": "now"},
    )


def get_archive(archive_id: int) -> Archive:
    Archive.settle()
    archive = Archive.objects.select_related("created_by").filter(pk=archive_id).first()
    if archive is None:
        raise ObjectDoesNotExist(_("There is no archive #%(id)s.") % {"id": archive_id})
    return archive


def _usable(archive: Archive, what: str) -> None:
    if archive.state == ArchiveState.DELETED:
        raise ValidationError(
            _("Archive #%(id)s was deleted on %(when)s; there is nothing to %(what)s.")
            % {"id": archive.pk, "when": archive.deleted_at, "what": what}
        )


# ------------------------------------------------------------------------------- download


class _Sink(io.RawIOBase):
    """What zipfile writes into: bytes handed on as they come, so the ZIP streams."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _sections(archive: Archive) -> Iterator[tuple[ArchiveChunk, list[codec.ReadSection]]]:
    for chunk_id in archive.chunks.order_by("sequence").values_list("pk", flat=True):
        chunk = ArchiveChunk.objects.get(pk=chunk_id)
        _header, sections = codec.read(codec.decompress(chunk.data, sha256=chunk.sha256))
        yield chunk, sections


def download_archive(
    *, user: AbstractUser, archive_id: int, password: str | None, channel: str = ""
) -> tuple[Archive, Iterator[bytes]]:
    """Check the password and return the archive and its ZIP as a stream of bytes: one CSV per
    model (the entity's rows, then each kind of associated record) and ``manifest.json``.

    Memory stays flat: one chunk is decompressed at a time, once per model."""
    archive = get_archive(archive_id)
    confirm(
        user=user,
        password=password,
        what=_("download an archive"),
        archive=archive,
        channel=channel,
    )
    _usable(archive, _("download"))
    audit(user, AuditAction.DOWNLOAD, archive=archive, channel=channel)
    return archive, _zip_stream(archive)


def _zip_stream(archive: Archive) -> Iterator[bytes]:
    sink = _Sink()
    files = []
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as zf:
        for label in archive.rows:
            name = f"{label.replace('.', '_')}.csv"
            count, fields, types = 0, None, None
            with zf.open(name, mode="w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(text)
                for _chunk, sections in _sections(archive):
                    for section in sections:
                        if section.model != label:
                            continue
                        if fields is None:
                            fields, types = section.fields, section.types
                            writer.writerow(fields)
                        writer.writerows([_cell(v) for v in row] for row in section.rows)
                        count += len(section.rows)
                    text.flush()
                    yield sink.take()
                text.flush()
                text.detach()
            files.append(
                {"file": name, "model": label, "fields": fields, "types": types, "rows": count}
            )
            yield sink.take()
        manifest = {
            "format": codec.FORMAT,
            "schema_version": codec.SCHEMA_VERSION,
            "archive": archive.summary(),
            "files": files,
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    yield sink.take()


# --------------------------------------------------------------------------------- delete


def delete_archive(
    *, user: AbstractUser, archive_id: int, password: str | None, channel: str = ""
) -> Archive:
    """Delete an archive's data for good; the archive record stays, marked deleted, and live
    records that referred to its rows keep their archived references (still read-only)."""
    archive = get_archive(archive_id)
    confirm(
        user=user,
        password=password,
        what=_("delete an archive"),
        archive=archive,
        channel=channel,
    )
    with transaction.atomic():
        archive = Archive.objects.select_for_update().get(pk=archive_id)
        _usable(archive, _("delete"))
        if archive.state == ArchiveState.IN_PROGRESS:
            raise ValidationError(
                _("Archive #%(id)s is still being written by run #%(run)s; wait for it to end.")
                % {"id": archive.pk, "run": archive.run_number}
            )
        archive.chunks.all()._raw_delete(archive.chunks.db)
        archive.state = ArchiveState.DELETED
        archive.deleted_at = timezone.now()
        archive.deleted_by = user
        archive.save(update_fields=["state", "deleted_at", "deleted_by"])
        audit(user, AuditAction.DELETE, archive=archive, channel=channel)
    return archive


# -------------------------------------------------------------------------------- restore


def restore_archive(
    *, user: AbstractUser, archive_id: int, password: str | None, channel: str = ""
) -> Archive:
    """Put an archive's rows back into the live tables and re-link the references to them.

    A parent row that cannot go back — its id or a unique value (a code reused meanwhile) is
    taken, or a record it points at is gone — is reported in ``restore_report`` with its
    children, and stays in the archive; nothing live is overwritten. Restoring again retries
    only what is left."""
    archive = get_archive(archive_id)
    confirm(
        user=user,
        password=password,
        what=_("restore an archive"),
        archive=archive,
        channel=channel,
    )
    entity = get_entity(archive.entity)
    with acting_as(user), transaction.atomic():
        archive = Archive.objects.select_for_update().get(pk=archive_id)
        _usable(archive, _("restore"))
        if archive.state in (ArchiveState.IN_PROGRESS, ArchiveState.RESTORED):
            raise ValidationError(
                _("Archive #%(id)s is %(state)s and cannot be restored.")
                % {"id": archive.pk, "state": archive.get_state_display().lower()}
            )
        conflicts: list[dict] = []
        for chunk, sections in list(_sections(archive)):
            left = _restore_chunk(archive, entity, sections, conflicts)
            if left is None:
                chunk.delete()
                continue
            encoded = codec.encode_sections(
                {"entity": entity.key, "archive": archive.pk, "sequence": chunk.sequence}, left
            )
            chunk.data, chunk.sha256 = encoded.data, encoded.sha256
            chunk.rows, chunk.row_count = encoded.rows, encoded.row_count
            chunk.uncompressed_bytes = encoded.raw_size
            chunk.compressed_bytes = len(encoded.data)
            chunk.save()
        _recount(archive)
        archive.state = ArchiveState.PARTLY_RESTORED if conflicts else ArchiveState.RESTORED
        archive.restore_report = conflicts
        archive.save()
        audit(
            user,
            AuditAction.RESTORE,
            archive=archive,
            channel=channel,
            detail=_("%(count)s rows could not be restored.") % {"count": len(conflicts)}
            if conflicts
            else "",
        )
    return archive


def _recount(archive: Archive) -> None:
    rows: dict[str, int] = {}
    total = raw = compressed = count = 0
    for chunk in archive.chunks.values("rows", "uncompressed_bytes", "compressed_bytes"):
        for label, n in chunk["rows"].items():
            rows[label] = rows.get(label, 0) + n
            total += n
        raw += chunk["uncompressed_bytes"]
        compressed += chunk["compressed_bytes"]
        count += 1
    archive.rows, archive.total_rows = rows, total
    archive.uncompressed_bytes, archive.compressed_bytes = raw, compressed
    archive.chunk_count = count


def _instances(section: codec.ReadSection) -> list:
    model = apps.get_model(section.model)
    fields = [model._meta.get_field(_field_name(model, name)) for name in section.fields]
    instances = []
    for row in section.rows:
        obj = model(
            **{
                f.attname: f.to_python(v) if v is not None else None
                for f, v in zip(fields, row, strict=True)
            }
        )
        obj._state.adding = True
        instances.append(obj)
    return instances


def _field_name(model, attname: str) -> str:
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return field.name
    raise codec.ChunkError(f"{model._meta.label} has no column {attname} any more")


def _missing_targets(objs: list, present_model, present: set) -> dict[int, str]:
    """Per object (index), the first foreign key whose target no longer exists; rows of
    ``present_model`` whose ids are in ``present`` (this chunk's parents) count as there."""
    missing: dict[int, str] = {}
    if not objs:
        return missing
    model = type(objs[0])
    for field in model._meta.concrete_fields:
        if not field.is_relation:
            continue
        target = field.related_model
        ids = {getattr(obj, field.attname) for obj in objs} - {None}
        if target is present_model:
            ids -= present
        if not ids:
            continue
        found = set(target._base_manager.filter(pk__in=ids).values_list("pk", flat=True))
        if target is present_model:
            found |= present
        for index, obj in enumerate(objs):
            value = getattr(obj, field.attname)
            if value is not None and value not in found and index not in missing:
                missing[index] = _("%(field)s: %(model)s %(id)s no longer exists.") % {
                    "field": field.name,
                    "model": target._meta.verbose_name,
                    "id": value,
                }
    return missing


def _restore_chunk(
    archive: Archive, entity, sections: list[codec.ReadSection], conflicts: list[dict]
) -> list[codec.ReadSection] | None:
    """Insert a chunk's rows; return the sections of what could not go back (``None`` when
    everything did). Parents go with their children or not at all."""
    parent_model = entity.model_class
    parent_section, child_sections = sections[0], sections[1:]
    parents = _instances(parent_section)
    children = [(section, _instances(section)) for section in child_sections]
    fk_of = {
        c.model_class._meta.label_lower: c.model_class._meta.get_field(c.fk).attname
        for c in entity.children
    }

    problems: dict[int, str] = {}
    existing = set(
        parent_model._base_manager.filter(pk__in=[p.pk for p in parents]).values_list(
            "pk", flat=True
        )
    )
    for index, obj in enumerate(parents):
        if obj.pk in existing:
            problems[index] = _("A live %(model)s with id %(id)s exists already.") % {
                "model": parent_model._meta.verbose_name,
                "id": obj.pk,
            }
    chunk_pks = {p.pk for p in parents}
    for index, message in _missing_targets(parents, parent_model, chunk_pks).items():
        problems.setdefault(index, message)
    by_pk = {p.pk: i for i, p in enumerate(parents)}
    for section, objs in children:
        fk = fk_of[section.model]
        for index, message in _missing_targets(objs, parent_model, chunk_pks).items():
            problems.setdefault(by_pk[getattr(objs[index], fk)], message)

    def insert(group: list[int]) -> None:
        keep = {parents[i].pk for i in group}
        parent_model._base_manager.bulk_create([parents[i] for i in group])
        for section, objs in children:
            fk = fk_of[section.model]
            model = apps.get_model(section.model)
            model._base_manager.bulk_create([o for o in objs if getattr(o, fk) in keep])

    ok = [i for i in range(len(parents)) if i not in problems]
    try:
        with transaction.atomic():
            insert(ok)
    except IntegrityError:
        # Which row? Each parent alone, with a clear reason where Django can name it.
        for index in ok:
            obj = parents[index]
            try:
                obj.validate_unique()
                obj.validate_constraints()
            except ValidationError as exc:
                problems[index] = "; ".join(exc.messages)
                continue
            try:
                with transaction.atomic():
                    insert([index])
            except IntegrityError as exc:
                problems[index] = str(exc)
        ok = [i for i in range(len(parents)) if i not in problems]
    restored = [parents[i].pk for i in ok]
    _relink(archive, entity, restored)

    for index, message in sorted(problems.items()):
        conflicts.append(
            {"model": parent_model._meta.label_lower, "id": parents[index].pk, "message": message}
        )
    if not problems:
        return None
    left_pks = {parents[i].pk for i in problems}
    pk_position = parent_section.fields.index(parent_model._meta.pk.attname)
    left = [
        codec.ReadSection(
            parent_section.model,
            parent_section.table,
            parent_section.fields,
            parent_section.types,
            [row for row in parent_section.rows if row[pk_position] in left_pks],
        )
    ]
    for section, _objs in children:
        position = section.fields.index(fk_of[section.model])
        left.append(
            codec.ReadSection(
                section.model,
                section.table,
                section.fields,
                section.types,
                [row for row in section.rows if row[position] in left_pks],
            )
        )
    return left


def _relink(archive: Archive, entity, restored: list[int]) -> None:
    """Point the live referrers at the restored rows again and lift their read-only mark."""
    if not restored:
        return
    with archive_writes():
        for referrer in entity.referrers:
            archived_id, archive_field = referrer.columns
            model = referrer.model_class
            fk = model._meta.get_field(referrer.fk)
            model._base_manager.filter(
                **{f"{archived_id}__in": restored, archive_field: archive.pk}
            ).update(**{fk.attname: F(archived_id), archived_id: None, archive_field: None})
