from __future__ import annotations

from django.urls import path

from nightshift.imports import views

app_name = "imports"

urlpatterns = [
    path("imports/", views.import_list, name="list"),
    path("imports/new/", views.choose_entity, name="new"),
    path("imports/new/<slug:entity>/", views.upload, name="upload"),
    path("imports/uploads/<int:upload_id>/<slug:entity>/", views.map_columns, name="map"),
    # The run summary and the e-mail link here: keep the name and the path.
    path("imports/<int:import_id>/error-file/", views.error_file, name="error_file"),
    path("imports/templates/<slug:entity>.<str:fmt>", views.import_template, name="template"),
]
