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
    path("", include("nightshift.runs.urls")),
    path("", include("nightshift.mail.urls")),
    path("", include("nightshift.web.urls")),
]
