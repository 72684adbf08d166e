from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from nightshift.api.urls import api, token_urlpatterns

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("account/tokens/", include(token_urlpatterns)),
    path("notifications/", include("nightshift.alerts.urls")),
    path("", include("nightshift.runs.urls")),
    path("", include("nightshift.inbox.urls")),
    path("erp/", include("nightshift.erp.urls")),
    path("", include("nightshift.archiving.urls")),
    path("", include("nightshift.imports.urls")),
    path("", include("nightshift.exports.urls")),
    path("", include("nightshift.mail.urls")),
    path("", include("nightshift.web.urls")),
]
