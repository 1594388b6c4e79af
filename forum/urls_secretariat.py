"""The secretariat's pages (staff accounts), under /secretariat/."""

urlpatterns: list = []
