"""The Archives screen and the password prompt on Submit of an archive definition."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import ArchiveChunk
from nightshift.crm.models import CustomerEvent
from nightshift.runs import actions as runs
from nightshift.runs.models import ScheduledTask
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_archivist(client, archivist):
    client.force_login(archivist)
    return client


def test_the_archives_area_links_to_the_archives_screen(as_archivist, archived):
    archive, _p, _s = archived()
    page = as_archivist.get(reverse("archiving:archives"))
    assert page.status_code == 200
    assert f'data-archive="{archive.pk}"' in page.text
    assert 'name="password"' in page.text


def test_the_archives_screen_filters_by_entity_and_state(as_archivist, archived):
    archive, _p, _s = archived()
    url = reverse("archiving:archives")
    assert (
        f'data-archive="{archive.pk}"' in as_archivist.get(url, {"entity": "purchase_events"}).text
    )
    assert (
        f'data-archive="{archive.pk}"'
        not in as_archivist.get(url, {"entity": "referral_events"}).text
    )
    assert f'data-archive="{archive.pk}"' not in as_archivist.get(url, {"state": "deleted"}).text


def test_an_outsider_cannot_see_the_archives(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("archiving:archives")).status_code == 403


def test_download_with_the_password_streams_the_zip(as_archivist, archived):
    archive, _p, _s = archived()
    response = as_archivist.post(
        reverse("archiving:download", args=[archive.pk]), {"password": PASSWORD}
    )
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert "manifest.json" in names


def test_a_wrong_password_refuses_the_delete_with_a_message(as_archivist, archived):
    archive, _p, _s = archived()
    response = as_archivist.post(
        reverse("archiving:delete", args=[archive.pk]), {"password": "nope"}, follow=True
    )
    assert "not correct" in response.text
    assert ArchiveChunk.objects.filter(archive=archive).exists()


def test_delete_and_restore_from_the_screen(as_archivist, archived):
    archive, purchases, _s = archived()
    as_archivist.post(reverse("archiving:restore", args=[archive.pk]), {"password": PASSWORD})
    archive.refresh_from_db()
    assert archive.state == ArchiveState.RESTORED
    assert CustomerEvent.objects.filter(pk=purchases[0].pk).exists()


def test_submit_of_an_archive_definition_asks_for_the_password(as_archivist, archivist):
    definition = runs.create_definition(
        user=archivist,
        process_key="archive_data",
        name="Archive",
        parameters={"entity": "purchase_events"},
        schedule={"mode": "now"},
    )
    page = as_archivist.get(reverse("runs:definition", args=[definition.unified_code]))
    assert 'id="submit-password"' in page.text
    url = reverse("runs:definition_submit", args=[definition.unified_code])
    refused = as_archivist.post(url, {"password": "nope"}, follow=True)
    assert "not correct" in refused.text
    assert not ScheduledTask.objects.exists()
    as_archivist.post(url, {"password": PASSWORD})
    assert ScheduledTask.objects.count() == 1


def test_an_operator_submitting_an_archive_definition_is_refused(client, operator, archivist):
    definition = runs.create_definition(
        user=archivist,
        process_key="archive_data",
        name="Archive",
        parameters={"entity": "purchase_events"},
        schedule={"mode": "now"},
    )
    client.force_login(operator)
    url = reverse("runs:definition_submit", args=[definition.unified_code])
    response = client.post(url, {"password": PASSWORD}, follow=True)
    assert "Archivists" in response.text
    assert not ScheduledTask.objects.exists()
