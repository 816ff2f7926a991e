from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from accounts.permissions import ReadPublicWriteScoped
from diagnostics.views import health

SCHEMA_PERMISSIONS = [ReadPublicWriteScoped]

api_v1 = [
    path("", include("kb.api.urls")),
    path("", include("trees.api.urls")),
    path("", include("diagnostics.api.urls")),
    path("", include("accounts.api_urls")),
    path("", include("incidents.api.urls")),
    path("", include("alerts.api.urls")),
]

urlpatterns = [
    path("health/", health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The schema and its viewers follow TRIAGE_PUBLIC_READ like every other read. The split Swagger view
    # serves its script as a file, so the Content-Security-Policy needs no inline script.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=SCHEMA_PERMISSIONS), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=SCHEMA_PERMISSIONS),
         name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema", template_name="accounts/redoc.html",
                                                    permission_classes=SCHEMA_PERMISSIONS),
         name="api-redoc"),
    path("diagnostics/", include("diagnostics.urls")),
    path("incidents/", include("incidents.urls")),
    path("alerts/", include("alerts.urls")),
    path("", include("kb.urls")),
    path("", include("trees.urls")),
]

# Under /api/ these answer in the API's JSON error shape; elsewhere they defer to Django's pages.
handler400 = "accounts.api.bad_request"
handler403 = "accounts.api.permission_denied"
handler404 = "accounts.api.not_found"
handler500 = "accounts.api.server_error"
