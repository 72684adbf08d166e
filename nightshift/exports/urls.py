from __future__ import annotations

from django.urls import path

from nightshift.exports import views

app_name = "exports"

urlpatterns = [
    path("exports/", views.export_list, name="list"),
    path("exports/new/", views.export_create, name="create"),
    path("exports/<int:number>/download/", views.download, name="download"),
]
