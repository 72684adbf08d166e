from django.urls import path

from nightshift.erp import views

app_name = "erp"

urlpatterns = [
    path("class-transition-rules/", views.rule_list, name="rules"),
    path("class-transition-rules/new/", views.rule_create, name="rule_create"),
    path("class-transition-rules/<int:pk>/", views.rule_edit, name="rule_edit"),
]
