from __future__ import annotations

from django.urls import path

from nightshift.archiving import views

app_name = "archiving"

urlpatterns = [
    path("archives/", views.archive_list, name="archives"),
    path("archives/<int:pk>/download/", views.archive_download, name="download"),
    path("archives/<int:pk>/delete/", views.archive_delete, name="delete"),
    path("archives/<int:pk>/restore/", views.archive_restore, name="restore"),
]
