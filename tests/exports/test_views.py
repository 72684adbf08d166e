"""The Exports area and the run page's files section."""

from __future__ import annotations

import pytest
from django.test import Client

from nightshift.runs.models import ProcessRun, RunState
from tests.conftest import PASSWORD
from tests.exports.conftest import read_csv, run_to_end

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client: Client, operator) -> Client:
    assert client.post("/login/", {"username": "olivia", "password": PASSWORD}).status_code == 302
    return client


def test_the_exports_area_is_linked_from_the_utilities(signed_in):
    from nightshift.web.areas import get_area

    assert get_area("exports").url() == "/exports/"
    page = signed_in.get("/exports/")
    assert page.status_code == 200
    assert b"New export" in page.content


def test_choose_an_entity_then_start_an_export_and_download_it_from_the_run_page(signed_in, crm):
    choose = signed_in.get("/exports/new/")
    assert b'data-entity="payment_gateway_requests"' in choose.content
    form = signed_in.get("/exports/new/?entity=contacts")
    assert b"filter_status" in form.content
    assert b"Output settings" in form.content
    response = signed_in.post(
        "/exports/new/",
        {
            "entity": "contacts",
            "file_type": "csv",
            "log_level": "errors",
            "filter_status": ["active"],
            "filter_city": "paulo",
            "columns": ["code", "city"],
            "schedule-mode": "now",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    run = ProcessRun.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    run_to_end(run)
    page = signed_in.get(f"/runs/{run.pk}/")
    link = f"/exports/{run.pk}/download/".encode()
    assert link in page.content
    download = signed_in.get(link.decode())
    assert read_csv(b"".join(download.streaming_content)) == [
        ["Code", "City"],
        ["ALICE", "São Paulo"],
    ]
    listing = signed_in.get("/exports/?entity=contacts&state=completed")
    assert link in listing.content
    assert signed_in.get("/exports/?entity=vouchers").content.count(link) == 0


def test_a_bad_filter_is_shown_next_to_its_field(signed_in):
    response = signed_in.post(
        "/exports/new/",
        {
            "entity": "contacts",
            "file_type": "csv",
            "log_level": "errors",
            "filter_birth_date": "yesterday",
            "schedule-mode": "now",
        },
    )
    assert response.status_code == 200
    assert b"is not a day YYYY-MM-DD" in response.content
    assert not ProcessRun.objects.exists()


def test_the_download_of_a_run_without_a_file_is_a_404(signed_in, crm):
    response = signed_in.post(
        "/exports/new/",
        {"entity": "vouchers", "file_type": "xlsx", "log_level": "errors", "schedule-mode": "now"},
    )
    run = ProcessRun.objects.get()
    assert run.state == RunState.DRAFT
    assert response.status_code == 302
    assert signed_in.get(f"/exports/{run.pk}/download/").status_code == 404


def test_an_outsider_is_refused(client, outsider):
    client.post("/login/", {"username": "oscar", "password": PASSWORD})
    assert client.get("/exports/").status_code == 403
    assert client.get("/exports/new/").status_code == 403
    assert client.get("/exports/1/download/").status_code == 403


def test_the_exports_catalogue_translates_every_string():
    from pathlib import Path

    from babel.messages.pofile import read_po

    import nightshift.exports

    catalogue = Path(nightshift.exports.__file__).parent / "locale/pt_BR/LC_MESSAGES/django.po"
    with catalogue.open("rb") as po_file:
        missing = [m.id for m in read_po(po_file) if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_the_exports_area_speaks_portuguese(signed_in):
    from django.core.management import call_command

    call_command("compile_catalogues", verbosity=0)
    response = signed_in.post("/i18n/setlang/", {"language": "pt-br", "next": "/exports/"})
    html = signed_in.get(response["Location"]).content.decode()
    assert "Nova exportação" in html
    assert "Nenhuma execução de exportação corresponde." in html
