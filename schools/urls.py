from django.urls import path

from schools import views

app_name = "schools"

urlpatterns = [
    path("", views.OrgUnitListView.as_view(), name="orgunit_list"),
    path("units/search/", views.unit_search, name="unit_search"),
]
