"""Archive runs: every entity with its children, the cut-off, the minimum, the chunk format."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import ValidationError

from nightshift.archiving import codec
from nightshift.archiving.actions import set_minimum_months
from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import Archive, ArchiveChunk
from nightshift.crm import models as crm
from nightshift.runs import actions as runs
from nightshift.runs.models import LogEntry, ProcessRun, RunItem
from tests.archiving.conftest import cutoff

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)


def archived_rows(archive: Archive) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for chunk in ArchiveChunk.objects.filter(archive=archive).order_by("sequence"):
        _header, sections = codec.read(codec.decompress(chunk.data, sha256=chunk.sha256))
        for section in sections:
            rows.setdefault(section.model, []).extend(
                dict(zip(section.fields, row, strict=True)) for row in section.rows
            )
    return rows


@pytest.mark.parametrize(
    ("kind", "entity"),
    [
        ("purchase", "purchase_events"),
        ("spend_request", "spend_request_events"),
        ("referral", "referral_events"),
        ("achievement", "achievement_events"),
        ("financial_statement", "financial_statement_events"),
    ],
)
def test_customer_events_are_archived_with_awarded_events_and_spend_transactions(
    make_event, archive_run, kind, entity
):
    old = [make_event(kind) for _ in range(3)]
    other_kind = make_event("referral" if kind != "referral" else "purchase")
    run = archive_run(entity)
    assert run.state == "completed"
    archive = Archive.objects.get(run_number=run.pk)
    rows = archived_rows(archive)
    assert sorted(r["id"] for r in rows["crm.customerevent"]) == [e.pk for e in old]
    assert len(rows["crm.awardedevent"]) == 6
    assert len(rows["crm.spendrewardtransaction"]) == 3
    assert list(crm.CustomerEvent.objects.values_list("pk", flat=True)) == [other_kind.pk]
    assert crm.AwardedEvent.objects.filter(customer_event=other_kind).count() == 2
    assert crm.AwardedEvent.objects.count() == 2
    assert archive.rows == {
        "crm.customerevent": 3,
        "crm.awardedevent": 6,
        "crm.spendrewardtransaction": 3,
    }


def test_provisioning_requests_are_archived_with_their_parameters(make_provisioning, archive_run):
    make_provisioning(), make_provisioning()
    run = archive_run("provisioning_requests")
    archive = Archive.objects.get(run_number=run.pk)
    assert archive.rows == {"crm.provisioningrequest": 2, "crm.provisioningrequestparameter": 4}
    assert not crm.ProvisioningRequest.objects.exists()
    assert not crm.ProvisioningRequestParameter.objects.exists()


def test_rated_billing_items_are_archived_with_applied_discounts(make_rated_item, archive_run):
    make_rated_item(), make_rated_item(), make_rated_item()
    run = archive_run("rated_billing_items")
    archive = Archive.objects.get(run_number=run.pk)
    assert archive.rows == {"crm.ratedbillingitem": 3, "crm.appliedadditivediscount": 6}
    assert not crm.RatedBillingItem.objects.exists()
    assert not crm.AppliedAdditiveDiscount.objects.exists()


def test_process_run_logs_are_archived_with_items_and_log_entries(make_old_run, archive_run):
    old = make_old_run()
    run = archive_run("process_run_logs")
    archive = Archive.objects.get(run_number=run.pk)
    assert archive.rows == {"runs.processrun": 1, "runs.runitem": 2, "runs.logentry": 1}
    assert not ProcessRun.objects.filter(pk=old.pk).exists()
    assert not RunItem.objects.filter(run_id=old.pk).exists()
    assert not LogEntry.objects.filter(run_id=old.pk).exists()
    # The archive run itself and its log are untouched.
    assert ProcessRun.objects.filter(pk=run.pk).exists()


def test_a_row_one_second_before_the_cutoff_is_archived_and_one_after_is_kept(
    make_event, archive_run
):
    before = make_event(created_at=cutoff() - SECOND)
    after = make_event(created_at=cutoff() + SECOND)
    archive_run()
    assert not crm.CustomerEvent.objects.filter(pk=before.pk).exists()
    assert crm.CustomerEvent.objects.filter(pk=after.pk).exists()


def test_one_archive_per_run_records_sizes_ratio_who_and_cutoff(make_event, archive_run, archivist):
    for _ in range(5):
        make_event()
    run = archive_run(batch_size=2)
    archive = Archive.objects.get(run_number=run.pk)
    assert archive.state == ArchiveState.COMPLETED
    assert archive.chunk_count == 3
    assert archive.total_rows == 5 * 4
    assert archive.created_by == archivist
    assert archive.cutoff == cutoff()
    assert archive.compressed_bytes == sum(
        ArchiveChunk.objects.filter(archive=archive).values_list("compressed_bytes", flat=True)
    )
    assert archive.ratio == round(archive.uncompressed_bytes / archive.compressed_bytes, 2)


def test_a_run_with_nothing_to_archive_records_an_empty_archive(archive_run):
    run = archive_run()
    archive = Archive.objects.get(run_number=run.pk)
    assert (archive.state, archive.total_rows, archive.chunk_count) == ("completed", 0, 0)


def test_a_chunk_names_its_schema_version_fields_and_types(make_event, archive_run):
    make_event()
    run = archive_run()
    chunk = ArchiveChunk.objects.get(archive__run_number=run.pk)
    lines = codec.decompress(chunk.data, sha256=chunk.sha256).decode().splitlines()
    header, section = json.loads(lines[0]), json.loads(lines[1])
    assert (header["format"], header["schema_version"]) == ("nightshift-archive", 1)
    assert section["model"] == "crm.customerevent"
    assert section["types"][section["fields"].index("created_at")] == "DateTimeField"
    assert section["types"][section["fields"].index("amount")] == "DecimalField"


def test_months_below_the_minimum_are_refused_naming_the_minimum(archivist):
    with pytest.raises(ValidationError) as refused:
        runs.create_definition(
            user=archivist,
            process_key="archive_data",
            name="too young",
            parameters={"entity": "purchase_events", "months": 6},
            schedule={"mode": "now"},
        )
    assert "at least 12 months" in str(refused.value.message_dict)


def test_an_administrator_lowering_the_minimum_allows_six_months(
    administrator, archive_run, make_event
):
    set_minimum_months(user=administrator, months=6)
    recent = make_event(created_at=cutoff(6) - SECOND)
    run = archive_run(months=6)
    assert run.state == "completed"
    assert not crm.CustomerEvent.objects.filter(pk=recent.pk).exists()


def test_the_default_is_twelve_months(archivist):
    definition = runs.create_definition(
        user=archivist,
        process_key="archive_data",
        name="default",
        parameters={"entity": "purchase_events"},
        schedule={"mode": "now"},
    )
    assert definition.parameters == {"entity": "purchase_events", "months": 12}


def test_an_unknown_entity_is_refused_listing_the_known_ones(archivist):
    with pytest.raises(ValidationError) as refused:
        runs.create_definition(
            user=archivist,
            process_key="archive_data",
            name="bad",
            parameters={"entity": "contacts", "months": 12},
            schedule={"mode": "now"},
        )
    assert "purchase_events" in str(refused.value.message_dict["parameters.entity"])


def test_an_administrator_lowers_the_minimum_in_the_admin(client, administrator):
    from django.urls import reverse

    from nightshift.archiving.models import ArchivingPolicy

    policy = ArchivingPolicy.get()
    client.force_login(administrator)
    url = reverse("admin:archiving_archivingpolicy_change", args=[policy.pk])
    response = client.post(url, {"minimum_months": 6})
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.minimum_months, policy.changed_by) == (6, administrator)


def test_an_archivist_cannot_lower_the_minimum(archivist):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        set_minimum_months(user=archivist, months=6)


def test_the_parameter_schema_offers_every_entity():
    from nightshift.archiving.processes import ArchiveData

    schema = ArchiveData.parameter_schema()
    assert "purchase_events" in schema["properties"]["entity"]["enum"]
    assert "process_run_logs" in schema["properties"]["entity"]["enum"]
    assert schema["properties"]["months"]["default"] == 12
