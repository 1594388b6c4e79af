"""The secretariat's pages (staff accounts), under /secretariat/."""

from django.urls import path

from forum import secretariat_views as views

urlpatterns = [
    path("", views.index, name="secretariat"),
    path("rooms/<slug:slug>/", views.room_page, name="secretariat_room"),
    path("rooms/<slug:slug>/audit/", views.room_audit, name="secretariat_audit"),
    path(
        "rooms/<slug:slug>/participants-template.csv", views.participants_template,
        name="secretariat_participants_template",
    ),
    path("committees/", views.committees, name="secretariat_committees"),
    path("committees/<str:public_id>/", views.committee_edit, name="secretariat_committee"),
]
