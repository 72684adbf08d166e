"""Live records that refer to archived data keep the reference and become read-only on every
path that could change them; deleting them stays allowed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from nightshift.archiving.references import ArchivedReferenceError
from nightshift.crm.models import CustomerEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_the_referrer_keeps_the_archived_id_and_the_archive(archived):
    archive, purchases, spend = archived()
    assert spend.related_event_id is None
    assert spend.archived_related_event == purchases[0].pk
    assert spend.archived_related_event_archive == archive.pk
    assert spend.is_archive_read_only


def test_action_code_saving_a_read_only_record_is_refused(archived):
    _archive, _purchases, spend = archived()
    spend.description = "changed"
    with pytest.raises(ArchivedReferenceError, match="refers to archived data"):
        spend.save()
    assert CustomerEvent.objects.get(pk=spend.pk).description != "changed"


def test_action_code_clearing_the_mark_in_memory_still_cannot_save(archived):
    _archive, _purchases, spend = archived()
    spend.archived_related_event = None
    with pytest.raises(ArchivedReferenceError):
        spend.save()


def test_a_bulk_update_touching_a_read_only_record_is_refused(archived):
    _archive, _purchases, spend = archived()
    with pytest.raises(ArchivedReferenceError, match="read-only"):
        CustomerEvent.objects.filter(pk=spend.pk).update(description="changed")


def test_other_records_still_change(make_event):
    event = make_event("referral")
    event.description = "changed"
    event.save()
    CustomerEvent.objects.filter(pk=event.pk).update(currency="USD")


def test_a_read_only_record_can_be_deleted(archived):
    _archive, _purchases, spend = archived()
    spend.delete()
    assert not CustomerEvent.objects.filter(pk=spend.pk).exists()


def test_the_admin_shows_a_read_only_record_without_save_and_says_why(archived, superuser_client):
    _archive, _purchases, spend = archived()
    url = reverse("admin:crm_customerevent_change", args=[spend.pk])
    page = superuser_client.get(url)
    assert page.status_code == 200
    assert "refers to archived data" in page.text
    assert 'name="_save"' not in page.text


def test_the_admin_refuses_a_posted_change(archived, superuser_client):
    _archive, _purchases, spend = archived()
    url = reverse("admin:crm_customerevent_change", args=[spend.pk])
    response = superuser_client.post(url, {"description": "changed", "kind": "spend_request"})
    assert response.status_code == 403
    assert CustomerEvent.objects.get(pk=spend.pk).description != "changed"


def test_the_admin_deletes_a_read_only_record(archived, superuser_client):
    _archive, _purchases, spend = archived()
    url = reverse("admin:crm_customerevent_delete", args=[spend.pk])
    superuser_client.post(url, {"post": "yes"})
    assert not CustomerEvent.objects.filter(pk=spend.pk).exists()


def test_the_admin_bulk_delete_still_applies_to_read_only_records(archived, superuser_client):
    _archive, _purchases, spend = archived()
    url = reverse("admin:crm_customerevent_changelist")
    superuser_client.post(
        url, {"action": "delete_selected", "_selected_action": [spend.pk], "post": "yes"}
    )
    assert not CustomerEvent.objects.filter(pk=spend.pk).exists()


def test_the_api_shows_the_reference_and_the_read_only_mark(archived, call, administrator):
    archive, purchases, spend = archived()
    body = call(administrator, "get", f"/customer-events/{spend.pk}").json()
    assert body["read_only"] is True
    assert body["archived_related_event"] == purchases[0].pk
    assert body["archived_related_event_archive"] == archive.pk


def test_the_api_offers_no_change_to_a_customer_event(archived, call, administrator):
    _archive, _purchases, spend = archived()
    response = call(administrator, "patch", f"/customer-events/{spend.pk}", {"description": "x"})
    assert response.status_code == 405
