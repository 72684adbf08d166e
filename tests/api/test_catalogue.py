from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

import nightshift.api

CATALOGUE = Path(nightshift.api.__file__).parent / "locale/pt_BR/LC_MESSAGES/django.po"


def test_portuguese_catalogue_translates_every_api_string():
    with CATALOGUE.open("rb") as po_file:
        catalog = read_po(po_file)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert len(catalog) > 0
    assert missing == []
