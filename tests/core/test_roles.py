from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from nightshift.core import roles


def test_the_three_role_groups_exist_after_migrate(db):
    names = set(Group.objects.values_list("name", flat=True))
    assert {roles.OPERATORS, roles.ARCHIVISTS, roles.ADMINISTRATORS} <= names


def test_only_archivists_and_administrators_may_archive(operator, archivist, administrator):
    assert archivist.has_perm("core.archive_data")
    assert administrator.has_perm("core.archive_data")
    assert not operator.has_perm("core.archive_data")


def test_operators_read_crm_records_but_cannot_change_them(operator):
    assert operator.has_perm("crm.view_contact")
    assert operator.has_perm("crm.view_customerevent")
    assert operator.has_perm("core.operate_runs")
    assert not operator.has_perm("crm.change_contact")
    assert not operator.has_perm("crm.delete_invoice")


def test_outsider_has_no_permission(outsider):
    assert not outsider.has_perm("crm.view_contact")
    assert not outsider.has_perm("core.operate_runs")


def test_administrators_hold_every_permission(db):
    group = Group.objects.get(name=roles.ADMINISTRATORS)
    assert group.permissions.count() == Permission.objects.count()


def test_sync_is_idempotent(db):
    before = {g.name: g.permissions.count() for g in Group.objects.all()}
    roles.sync_role_groups()
    after = {g.name: g.permissions.count() for g in Group.objects.all()}
    assert before == after
