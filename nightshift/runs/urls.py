from __future__ import annotations

from django.urls import path

from nightshift.runs import views

app_name = "runs"

urlpatterns = [
    path("runs/<int:number>/", views.run_detail, name="run"),
]
