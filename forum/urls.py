from django.contrib import admin
from django.urls import include, path

from forum.minutes import views as minutes_views
from forum.room import contributions as contribution_views
from forum.room import notices as notices_views
from forum.room import preview as preview_views
from forum.room import screen as screen_views
from forum.room import views
from forum.secretariat import submissions as submission_views
from forum.site import views as site_views

urlpatterns = [
    path("", site_views.home, name="home"),
    path("join/<str:token>/", views.join, name="join"),
    path("sign-in/", site_views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("rooms/<slug:slug>/", views.room, name="room"),
    path("rooms/<slug:slug>/screen/", screen_views.room_screen, name="room_screen"),
    path("rooms/<slug:slug>/audit/", views.room_audit, name="room_audit"),
    path(
        "rooms/<slug:slug>/contributions/",
        contribution_views.contribution_send,
        name="room_contributions",
    ),
    path(
        "rooms/<slug:slug>/contributions/<str:public_id>/",
        contribution_views.contribution_edit,
        name="room_contribution",
    ),
    path(
        "rooms/<slug:slug>/contributions/<str:public_id>/attachment",
        contribution_views.contribution_attachment,
        name="room_contribution_attachment",
    ),
    path("rooms/<slug:slug>/parity.json", views.room_parity, name="room_parity"),
    path("rooms/<slug:slug>/minutes.<str:fmt>", minutes_views.minutes_export, name="room_minutes"),
    path("rooms/<slug:slug>/minutes/", minutes_views.minutes_page, name="room_minutes_page"),
    path("rooms/<slug:slug>/outcomes/", minutes_views.outcomes_page, name="room_outcomes"),
    path(
        "rooms/<slug:slug>/submissions/", submission_views.room_submissions, name="room_submissions"
    ),
    path(
        "submissions/<str:public_id>/package.zip",
        submission_views.submission_package,
        name="submission_package",
    ),
    path("rooms/<slug:slug>/notices/", notices_views.room_notices, name="room_notices"),
    path("rooms/<slug:slug>/preview", preview_views.markdown_preview, name="room_preview"),
    path("secretariat/", include("forum.secretariat.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", site_views.healthz, name="healthz"),
    path(
        ".well-known/roundtables-signing-key.pem",
        site_views.signing_key_pem,
        name="signing_key_pem",
    ),
    path("signing-key/", site_views.signing_key_page, name="signing_key"),
    path("admin/login/", site_views.admin_sign_in, name="admin_sign_in"),
    path("admin/", admin.site.urls),
]

handler404 = "forum.site.views.not_found"
