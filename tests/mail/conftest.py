from __future__ import annotations

import pytest

from tests.mail.smtp import serve


@pytest.fixture
def smtp_server(settings):
    yield from serve(settings)
