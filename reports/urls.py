from django.urls import path

from portal.views import not_built_yet

app_name = "reports"

urlpatterns = [
    path("", not_built_yet, name="dashboard"),
    path("units/<str:code>/", not_built_yet, name="unit_detail"),
    path("plans/<slug:plan>/targets/<slug:code>/", not_built_yet, name="target_detail"),
]
