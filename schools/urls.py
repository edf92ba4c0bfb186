from django.urls import path

from schools import designation_views, unit_views, user_views, views

app_name = "schools"

urlpatterns = [
    path("", views.OrgUnitListView.as_view(), name="orgunit_list"),
    path("units/search/", views.unit_search, name="unit_search"),
    # Users and memberships (schools/user_views.py): bureau administrators, within their scope.
    path("users/", user_views.UserListView.as_view(), name="user_list"),
    path("users/new/", user_views.user_create, name="user_create"),
    path("users/import/", user_views.user_import_view, name="user_import"),
    path("users/import/template/", user_views.user_template, name="user_template"),
    path("users/<str:username>/edit/", user_views.user_edit, name="user_edit"),
    path("users/<str:username>/active/", user_views.user_set_active, name="user_set_active"),
    path("users/<str:username>/memberships/add/", user_views.membership_add, name="membership_add"),
    path("users/<str:username>/memberships/<int:pk>/remove/", user_views.membership_remove, name="membership_remove"),
    path("units/new/", unit_views.unit_create, name="unit_create"),
    path("units/<str:code>/edit/", unit_views.unit_edit, name="unit_edit"),
    path("designations/", designation_views.designation_list, name="designation_list"),
    path("designations/grant/", designation_views.grant, name="designation_grant"),
    path("designations/<int:pk>/revoke/", designation_views.revoke, name="designation_revoke"),
    path("designations/<int:pk>/evidence/<str:which>/", designation_views.evidence, name="designation_evidence"),
    path("designations/import/", designation_views.import_view, name="designation_import"),
    path("designations/import/template/", designation_views.import_template, name="designation_import_template"),
    path("designations/kinds/", designation_views.kind_list, name="designation_kinds"),
    path("designations/kinds/<slug:code>/", designation_views.kind_edit, name="designation_kind_edit"),
]
