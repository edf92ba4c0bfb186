from django.urls import path

from indicators import catalogue_views, views

app_name = "indicators"

urlpatterns = [
    path("indicators/", views.IndicatorListView.as_view(), name="indicator_list"),
    path("indicators/catalogue/", catalogue_views.catalogue_list, name="catalogue"),
    path("indicators/catalogue/<slug:code>/install/", catalogue_views.catalogue_install, name="catalogue_install"),
    path("indicators/new/", views.IndicatorCreateView.as_view(), name="indicator_create"),
    path("indicators/<slug:code>/", views.indicator_detail, name="indicator_detail"),
    path("indicators/<slug:code>/edit/", views.IndicatorUpdateView.as_view(), name="indicator_update"),
    path(
        "indicators/<slug:code>/values/<str:unit>/<str:period>/",
        views.indicator_value_detail,
        name="indicator_value_detail",
    ),
]
