"""``nightshift bootstrap``: the administrator exactly once, its login in a private file."""

from __future__ import annotations

import stat
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from nightshift.core import roles
from nightshift.core.management.commands.bootstrap import crm_is_empty
from nightshift.crm.models import ProductFamily


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap", *args, stdout=out, stderr=out)
    return out.getvalue()


def password_in(credentials: Path) -> str:
    lines = credentials.read_text().splitlines()
    return next(line.split(": ", 1)[1] for line in lines if line.startswith("password: "))


@pytest.mark.django_db
def test_first_run_creates_admin_and_prints_its_password(var_dir):
    output = bootstrap("--no-demo")

    password = password_in(var_dir / "admin-credentials.txt")
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password(password)
    assert password in output
    assert len(password) >= 20


@pytest.mark.django_db
def test_second_run_creates_nothing_and_only_points_at_the_file(var_dir):
    bootstrap("--no-demo")
    password = password_in(var_dir / "admin-credentials.txt")

    output = bootstrap("--no-demo")

    assert password not in output
    assert str(var_dir / "admin-credentials.txt") in output
    assert User.objects.filter(is_superuser=True).count() == 1
    assert password_in(var_dir / "admin-credentials.txt") == password


@pytest.mark.django_db
def test_credentials_file_is_readable_by_owner_only(var_dir):
    bootstrap("--no-demo")

    mode = stat.S_IMODE((var_dir / "admin-credentials.txt").stat().st_mode)
    assert mode == 0o600


@pytest.mark.django_db
def test_credentials_file_left_by_an_old_database_is_replaced_private(var_dir):
    old = var_dir / "admin-credentials.txt"
    old.write_text("password: stale\n")
    old.chmod(0o644)

    bootstrap("--no-demo")

    assert password_in(old) != "stale"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


@pytest.mark.django_db
def test_admin_is_an_administrator_with_a_unit(var_dir):
    bootstrap("--no-demo")

    admin = User.objects.get(username="admin")
    assert list(admin.groups.values_list("name", flat=True)) == [roles.ADMINISTRATORS]
    assert admin.profile.unit is not None


@pytest.mark.django_db
def test_existing_superuser_means_no_admin_is_created(var_dir):
    User.objects.create_superuser("root", password="x" * 20)

    output = bootstrap("--no-demo")

    assert not User.objects.filter(username="admin").exists()
    assert not (var_dir / "admin-credentials.txt").exists()
    assert "root exists" in output


@pytest.mark.django_db
def test_plain_user_named_admin_is_refused_not_promoted(var_dir):
    User.objects.create_user("admin", password="x" * 20)

    with pytest.raises(CommandError, match="not one"):
        bootstrap("--no-demo")

    assert not User.objects.get(username="admin").is_superuser


@pytest.mark.django_db
def test_demo_is_not_loaded_over_existing_crm_data(var_dir):
    ProductFamily.objects.create(code="F1", name="Family")
    assert not crm_is_empty()

    output = bootstrap()

    assert "already holds data" in output
    assert ProductFamily.objects.count() == 1
