from __future__ import annotations

from django.urls import path

from nightshift.imports import views

app_name = "imports"

urlpatterns = [
    path("imports/<int:import_id>/error-file/", views.error_file, name="error_file"),
    path("imports/templates/<slug:entity>.<str:fmt>", views.import_template, name="template"),
]
