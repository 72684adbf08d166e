from __future__ import annotations

from django.urls import path

from nightshift.runs import views

app_name = "runs"

urlpatterns = [
    path("scheduler/", views.scheduler, name="scheduler"),
    path("scheduler/state/", views.scheduler_state, name="scheduler_state"),
    path("scheduler/tasks/<int:pk>/delete/", views.task_delete, name="task_delete"),
    path("scheduler/agenda/", views.agenda_edit, name="agenda"),
    path("schedule/preview/", views.schedule_preview, name="schedule_preview"),
    path("definitions/", views.definition_list, name="definitions"),
    path("definitions/new/", views.definition_create, name="definition_create"),
    path("definitions/<str:code>/", views.definition_detail, name="definition"),
    path("definitions/<str:code>/edit/", views.definition_edit, name="definition_edit"),
    path("definitions/<str:code>/submit/", views.definition_submit, name="definition_submit"),
    path("runs/", views.board, name="board"),
    # The engine's summary e-mail links here: keep the name and the path.
    path("runs/<int:number>/", views.run_detail, name="run"),
    path("runs/<int:number>/row/", views.board_row, name="board_row"),
    path("runs/<int:number>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:number>/stop/", views.run_stop, name="run_stop"),
    path("runs/<int:number>/delete/", views.run_delete, name="run_delete"),
    path("log/", views.daily_log, name="log"),
]
