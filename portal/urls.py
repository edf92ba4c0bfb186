from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import ops_views, views
from portal.audit_api import ConfigChangeListView

api_v1: list[URLPattern | URLResolver] = [
    path("", include("schools.api_urls")),
    path("", include("submissions.api_urls")),
    path("", include("indicators.api_urls")),
    path("", include("plans.api_urls")),
    path("", include("targets.api_urls")),
    path("", include("reports.api_urls")),
    path("", include("notifications.api_urls")),
    path("audit/", ConfigChangeListView.as_view(), name="audit-list"),
]

urlpatterns = [
    path("", include("notifications.home_urls")),  # the to-do home (name "home")
    path("favicon.ico", views.favicon, name="favicon"),
    path("profile/", views.profile, name="profile"),
    path("profile/token/", views.token_create, name="token_create"),
    path("profile/token/revoke/", views.token_revoke, name="token_revoke"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("schools/", include("schools.urls")),
    # plans' own pages and the target pages share /plans/ and the "plans" namespace (see the module).
    path("plans/", include("targets.plan_urls")),
    path("submissions/", include("submissions.urls")),
    path("targets/", include("indicators.urls")),
    path("reports/", include("reports.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves its init script from this URL (?script=): no inline script, so our CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("admin/", admin.site.urls),
    # /healthz is answered by portal.middleware.HealthCheckMiddleware, before host checks and redirects.
    path("metrics", ops_views.metrics_view, name="metrics"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
