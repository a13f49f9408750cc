from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chatsite import api_errors, views

handler500 = views.server_error

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("rooms.api_urls")),
    path("api/", include("messaging.api_urls")),
    path("api/", views.api_root, name="api-root"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file, so the CSP needs no inline script;
    # its page is drf-spectacular's with a language and colour fixes (templates/api/).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/redoc/redoc.js", views.redoc_script, name="api-redoc-script"),
    path(
        "api/redoc/",
        views.RedocView.as_view(url_name="schema"),
        name="api-redoc",
    ),
    # Last of the API: a path no route above matched (a room id that is not a number) answers the
    # documented JSON 404. Only paths ending in "/", so APPEND_SLASH still redirects "/api/rooms".
    re_path(r"^api/[\s\S]*/$", api_errors.not_found),  # [\s\S], not ".": a %0A in the path too
    path("", include("rooms.urls")),
    path("", include("messaging.urls")),
    re_path(r"^[\s\S]*/$", views.page_not_found),
]
