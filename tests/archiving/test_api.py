"""The archives API: list with filters, download, delete and restore with the password."""

from __future__ import annotations

import io
import zipfile

import pytest

from nightshift.archiving.models import ArchiveChunk
from nightshift.crm.models import CustomerEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_list_filters_by_entity_and_state(call, archived, archivist):
    archive, _p, _s = archived()
    listed = call(archivist, "get", "/archives?entity=purchase_events").json()
    assert [a["id"] for a in listed["items"]] == [archive.pk]
    assert listed["items"][0]["rows"]["crm.customerevent"] == 3
    assert call(archivist, "get", "/archives?state=deleted").json()["items"] == []


def test_an_operator_cannot_list_archives(call, archived, operator):
    archived()
    assert call(operator, "get", "/archives").status_code == 403


def test_download_streams_the_zip(call, archived, archivist):
    archive, _p, _s = archived()
    response = call(archivist, "post", f"/archives/{archive.pk}/download", {"password": PASSWORD})
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert "crm_customerevent.csv" in names


def test_download_with_a_wrong_password_is_a_422(call, archived, archivist):
    archive, _p, _s = archived()
    response = call(archivist, "post", f"/archives/{archive.pk}/download", {"password": "x"})
    assert response.status_code == 422
    assert "password" in response.json()["errors"]


def test_restore_then_delete_over_the_api(call, archived, archivist):
    archive, purchases, _s = archived()
    restored = call(archivist, "post", f"/archives/{archive.pk}/restore", {"password": PASSWORD})
    assert restored.json()["state"] == "restored"
    assert CustomerEvent.objects.filter(pk=purchases[0].pk).exists()
    deleted = call(archivist, "post", f"/archives/{archive.pk}/delete", {"password": PASSWORD})
    assert deleted.json()["deleted"] is True
    assert not ArchiveChunk.objects.exists()


def test_an_unknown_archive_is_a_404(call, archivist):
    response = call(archivist, "post", "/archives/999/delete", {"password": PASSWORD})
    assert response.status_code == 404
