from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def export_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def export_create(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def download(request: HttpRequest, number: int) -> HttpResponse:
    raise NotImplementedError
