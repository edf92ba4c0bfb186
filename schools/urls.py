from django.urls import path

from schools import views

app_name = "schools"

urlpatterns = [
    path("", views.OrgUnitListView.as_view(), name="orgunit_list"),
]
