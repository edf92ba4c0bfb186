from django.urls import path

from portal.views import not_built_yet

app_name = "targets"

urlpatterns = [
    path("indicators/", not_built_yet, name="indicator_list"),
    path("indicators/<slug:code>/", not_built_yet, name="indicator_detail"),
]
