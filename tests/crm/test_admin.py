"""Every CRM record is reachable in the Django admin, listed, filtered and searchable."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

RECORD_APPS = ("core", "crm", "mail")


def record_models():
    for label in RECORD_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.managed:
                yield model


@pytest.fixture
def superuser_client(client, db):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", list(record_models()), ids=lambda m: m._meta.label)
def test_every_record_is_registered_with_search(model):
    model_admin = admin.site._registry.get(model)
    assert model_admin is not None, f"{model._meta.label} is not in the admin"
    assert model_admin.search_fields, f"{model._meta.label} cannot be searched"


@pytest.mark.parametrize("model", list(record_models()), ids=lambda m: m._meta.label)
def test_changelist_and_add_form_render(superuser_client, model):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert superuser_client.get(changelist, {"q": "x"}).status_code == 200
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    response = superuser_client.get(add)
    assert response.status_code == 200
    assert "Log information" in response.text or not hasattr(model, "created_by_unit")
