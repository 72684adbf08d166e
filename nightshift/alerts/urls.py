from __future__ import annotations

from django.urls import path

from nightshift.alerts import views

app_name = "alerts"

# Every route here stays reachable for a user with open blocking notifications.
urlpatterns = [
    path("", views.notifications, name="notifications"),
    path("<int:pk>/attend/", views.attend, name="attend"),
    path("users/<int:user_id>/", views.user_notifications, name="user_notifications"),
    path("users/<int:user_id>/release/", views.release, name="release"),
]
