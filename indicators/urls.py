from django.urls import path

from indicators import views

app_name = "indicators"

urlpatterns = [
    path("indicators/", views.IndicatorListView.as_view(), name="indicator_list"),
    path("indicators/new/", views.IndicatorCreateView.as_view(), name="indicator_create"),
    path("indicators/<slug:code>/", views.indicator_detail, name="indicator_detail"),
    path("indicators/<slug:code>/edit/", views.IndicatorUpdateView.as_view(), name="indicator_update"),
    path(
        "indicators/<slug:code>/values/<str:unit>/<str:period>/",
        views.indicator_value_detail,
        name="indicator_value_detail",
    ),
]
