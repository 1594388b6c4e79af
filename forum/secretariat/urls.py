"""The secretariat's pages (staff accounts), under /secretariat/."""

from django.urls import path

from forum.secretariat import contributions, outbox, room_views, views

urlpatterns = [
    path("", views.index, name="secretariat"),
    path("rooms/<slug:slug>/", room_views.room_detail, name="secretariat_room"),
    path("rooms/<slug:slug>/audit/", room_views.room_audit, name="secretariat_audit"),
    path(
        "rooms/<slug:slug>/contributions/",
        contributions.room_contributions,
        name="secretariat_contributions",
    ),
    path(
        "rooms/<slug:slug>/participants-template.csv",
        room_views.participants_template,
        name="secretariat_participants_template",
    ),
    path("outbox/", outbox.outbox, name="secretariat_outbox"),
    path("outbox/<int:pk>/", outbox.outbox_message, name="secretariat_outbox_message"),
    path("outbox/<int:pk>.eml", outbox.outbox_eml, name="secretariat_outbox_eml"),
    path("committees/", views.committees, name="secretariat_committees"),
    path("committees/<str:public_id>/", views.committee_edit, name="secretariat_committee"),
]
