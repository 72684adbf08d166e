from __future__ import annotations

from django.urls import path

from nightshift.mail import views

app_name = "mail"

urlpatterns = [
    path("mail/templates/", views.template_list, name="templates"),
    path("mail/templates/new/", views.template_edit, name="template_create"),
    path("mail/templates/<int:pk>/", views.template_preview, name="template_preview"),
    path("mail/templates/<int:pk>/edit/", views.template_edit, name="template_edit"),
    path("mail/suppression/", views.suppression_list, name="suppressions"),
    path("mail/suppression/add/", views.suppression_add, name="suppression_add"),
    path("mail/suppression/<int:pk>/remove/", views.suppression_remove, name="suppression_remove"),
    path("mail/nurture/", views.sequence_list, name="sequences"),
    path("mail/nurture/new/", views.sequence_edit, name="sequence_create"),
    path("mail/nurture/<int:pk>/edit/", views.sequence_edit, name="sequence_edit"),
]
