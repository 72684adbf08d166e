from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import django
import pytest
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from nightshift.processes.builtin.short_term_deactivation import LeaveShortTermDeactivation
from nightshift.runs import actions as runs_actions
from nightshift.runs.models import ApplicationServer, ProcessRun, RunState
from nightshift.scheduling.specs import ScheduleError, parse_schedule
from nightshift.web.areas import UTILITY_AREAS
from nightshift.web.management.commands.compile_catalogues import project_locale_dirs

CATALOGUE = Path(settings.LOCALE_PATHS[0]) / "pt_BR" / "LC_MESSAGES" / "django.po"
# The code whose strings this catalogue must translate in full; the other apps' strings are
# translated by their owners.
FULLY_TRANSLATED = ("nightshift/web/", "nightshift/core/", "nightshift/settings.py")
# Apps that keep their own catalogue, which must translate every one of its entries.
APPS_WITH_CATALOGUE = ("runs", "processes", "scheduling", "imports")


def switch_language(client: Client, code: str, next_url: str) -> str:
    response = client.post(reverse("set_language"), {"language": code, "next": next_url})
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


def test_switching_to_portuguese_renders_pages_in_portuguese_and_back(signed_in: Client):
    html = switch_language(signed_in, "pt-br", reverse("web:dashboard"))
    assert '<html lang="pt-br">' in html
    assert "<h1>Painel</h1>" in html
    assert ">Sair</button>" in html
    assert "Conectado como <strong>olivia</strong>" in html

    html = signed_in.get(reverse("runs:scheduler")).content.decode()
    assert "<h1>Agendador</h1>" in html

    html = signed_in.get(reverse("imports:list")).content.decode()
    assert "<h1>Importações</h1>" in html
    assert "Nova importação" in html

    html = switch_language(signed_in, "en", reverse("web:dashboard"))
    assert "<h1>Dashboard</h1>" in html


def test_language_switcher_names_each_language_in_itself_and_marks_current(signed_in: Client):
    html = switch_language(signed_in, "pt-br", reverse("web:dashboard"))
    assert 'value="en" lang="en"' in html
    assert ">English</button>" in html
    assert ">Português (Brasil)</button>" in html
    assert re.search(r'class="language is-active"\s+aria-pressed="true">Português', html)


def test_login_page_is_translated_for_anonymous_visitor(client: Client, db):
    html = switch_language(client, "pt-br", reverse("login"))
    assert "<h1>Entrar</h1>" in html
    assert "Nome de usuário" in html


@pytest.mark.parametrize("area", UTILITY_AREAS, ids=lambda area: area.slug)
def test_every_utility_area_has_a_portuguese_title_and_summary(area):
    with translation.override("en"):
        english = (str(area.title), str(area.summary))
    with translation.override("pt-br"):
        portuguese = (str(area.title), str(area.summary))
    # "Logs" is the same word in both languages; its summary is not.
    assert portuguese[0] != english[0] or area.slug == "logs"
    assert portuguese[1] != english[1]


def test_catalogue_translates_every_web_core_and_settings_string():
    with CATALOGUE.open("rb") as po_file:
        catalog = read_po(po_file)
    missing = [
        message.id
        for message in catalog
        if message.id
        and any(path.startswith(FULLY_TRANSLATED) for path, _line in message.locations)
        and (not message.string or message.fuzzy)
    ]
    assert missing == []


@pytest.mark.parametrize("app", APPS_WITH_CATALOGUE)
def test_app_catalogue_translates_every_entry_with_portuguese_plurals(app: str):
    path = Path(apps.get_app_config(app).path) / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file)
    assert catalog.num_plurals == 3  # CLDR's pt_BR rule, as Django's own catalogue has it
    messages = [message for message in catalog if message.id]
    assert messages
    untranslated = [
        message.id
        for message in messages
        if message.fuzzy
        or not message.string
        or (isinstance(message.string, tuple) and not all(message.string))
    ]
    assert untranslated == []
    assert [problem for _message, problem in catalog.check()] == []


def write_po(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' + body,
        encoding="utf-8",
    )
    return path


def test_compile_catalogues_writes_mo_that_django_loads_with_portuguese_plurals(
    tmp_path: Path, settings
):
    # No Plural-Forms header: the rule must come from the pt_BR directory name. It is CLDR's,
    # as Django's own pt_BR catalogue has it: one for 0 and 1, "many" for whole millions.
    write_po(
        tmp_path / "pt_BR" / "LC_MESSAGES" / "django.po",
        'msgid "Catalogue probe"\nmsgstr "Sonda do catálogo"\n\n'
        'msgid "%(n)s probe"\nmsgid_plural "%(n)s probes"\n'
        'msgstr[0] "%(n)s sonda"\nmsgstr[1] "%(n)s de sondas"\nmsgstr[2] "%(n)s sondas"\n',
    )
    call_command("compile_catalogues", tmp_path, verbosity=0)
    assert (tmp_path / "pt_BR" / "LC_MESSAGES" / "django.mo").is_file()

    settings.LOCALE_PATHS = [tmp_path]  # also clears Django's cache of loaded catalogues
    with translation.override("pt-br"):
        assert translation.gettext("Catalogue probe") == "Sonda do catálogo"
        assert translation.ngettext("%(n)s probe", "%(n)s probes", 0) == "%(n)s sonda"
        assert translation.ngettext("%(n)s probe", "%(n)s probes", 2) == "%(n)s sondas"
        assert translation.ngettext("%(n)s probe", "%(n)s probes", 10**6) == "%(n)s de sondas"


def test_compile_catalogues_rejects_translation_with_different_placeholders(tmp_path: Path):
    po_path = write_po(
        tmp_path / "pt_BR" / "LC_MESSAGES" / "django.po",
        '#, python-format\nmsgid "Signed in as %(name)s"\nmsgstr "Conectado como %(nome)s"\n',
    )
    with pytest.raises(CommandError, match="Signed in as"):
        call_command("compile_catalogues", tmp_path, verbosity=0)
    assert not po_path.with_suffix(".mo").exists()


def test_compile_catalogues_fails_when_there_is_nothing_to_compile(tmp_path: Path):
    with pytest.raises(CommandError, match=r"no \.po catalogue"):
        call_command("compile_catalogues", tmp_path, verbosity=0)


@pytest.fixture
def app_locale_dir() -> Iterator[Path]:
    """A ``locale`` directory inside one of the project's apps, removed afterwards."""
    path = Path(apps.get_app_config("web").path) / "locale"
    assert not path.exists(), "the web app's strings belong in the project catalogue"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path)


def test_compile_catalogues_covers_locale_paths_and_project_apps_but_not_django(
    app_locale_dir: Path,
):
    dirs = project_locale_dirs()
    assert Path(settings.LOCALE_PATHS[0]).resolve() in dirs
    assert app_locale_dir.resolve() in dirs
    django_dir = Path(django.__file__).resolve().parent
    assert not [path for path in dirs if path.is_relative_to(django_dir)]


# ------------------------------------------------------------------ the run engine's pages


@pytest.fixture
def std_run(operator) -> ProcessRun:
    """A completed run of a short term deactivation definition."""
    definition = runs_actions.create_definition(
        user=operator,
        process_key=LeaveShortTermDeactivation.key,
        name="Saída da desativação",
        schedule={"mode": "now"},
    )
    return ProcessRun.objects.create(
        definition=definition,
        process_key=definition.process_key,
        server=ApplicationServer.default(),
        as_of=timezone.localdate(),
        state=RunState.COMPLETED,
        total=3,
        processed=3,
        succeeded=3,
    )


def test_run_engine_pages_render_in_portuguese(signed_in: Client, std_run: ProcessRun):
    html = switch_language(signed_in, "pt-br", reverse("runs:scheduler"))
    assert "<h1>Agendador</h1>" in html
    assert "Tarefas agendadas" in html
    assert "Painel de Administração de Processos em Lote" in html
    assert "Agenda automática" in html

    html = signed_in.get(reverse("runs:definitions")).content.decode()
    assert "Definições de execução" in html
    assert "Código unificado" in html
    assert "Saída da desativação" in html

    url = reverse("runs:definition_create")
    html = signed_in.get(url, {"process": LeaveShortTermDeactivation.key}).content.decode()
    assert "Retirar assinaturas da desativação de curto prazo" in html
    assert "Critérios" in html
    assert "Configurações de entrada" in html
    # The parameters' titles and descriptions come from the process's JSON schema.
    assert "Fim da desativação de curto prazo há X dias" in html
    assert "Tipo de ação de assinatura" in html
    assert "vazio para todos." in html
    assert "Configurações de limitação" in html
    assert "Tamanho máximo do lote" in html
    assert "Short term deactivation end X days ago" not in html

    html = signed_in.get(reverse("runs:run", args=[std_run.pk])).content.decode()
    assert f"Execução #{std_run.pk}" in html
    assert "Processados com sucesso" in html
    assert "Concluída" in html
    assert "Data de execução" in html


def test_throttle_and_parameter_errors_name_the_field_in_portuguese(operator):
    with translation.override("pt-br"), pytest.raises(ValidationError) as caught:
        runs_actions.create_definition(
            user=operator,
            process_key=LeaveShortTermDeactivation.key,
            name="Limitada",
            schedule={"mode": "repeat", "every": 1, "unit": "days", "start": {"at": "2030-01-01"}},
            throttle={"max_records": 0, "restart_after": {"every": 1, "unit": "hours"}},
            parameters={"short_term_end_days_ago": -1},
        )
    errors = caught.value.message_dict
    assert errors["throttle"] == ["max_records (Tamanho máximo do lote): deve ser maior que 0"]
    assert errors["parameters.short_term_end_days_ago"] == ["deve ser maior ou igual a 0"]


def test_schedule_errors_are_translated():
    with translation.override("pt-br"), pytest.raises(ScheduleError) as caught:
        parse_schedule({"mode": "repeat", "every": 1, "unit": "fortnights", "start": {}})
    assert str(caught.value) == (
        "unit: deve ser um destes: “seconds”, “minutes”, “hours”, “days”, “weeks”, “months”, "
        "“years”; start: informe “at” ou “after”"
    )
