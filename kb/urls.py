from django.urls import path

from .views import browse, checks, editing
from .views import imports as import_views
from .views import matching as matching_views
from .views import search as search_views

app_name = "kb"

urlpatterns = [
    path("", browse.home, name="home"),
    path("search/", search_views.search, name="search"),
    path("search/open/<int:pk>/", search_views.search_open, name="search_open"),
    path("search/gaps/", search_views.search_gaps, name="search_gaps"),
    path("systems/<slug:slug>/", browse.system_detail, name="system_detail"),
    path("systems/<slug:system_slug>/<slug:slug>/", browse.article_detail, name="article_detail"),
    path("systems/<slug:system_slug>/<slug:slug>/vote/", browse.article_vote, name="article_vote"),
    path("systems/<slug:system_slug>/<slug:slug>/history/", browse.article_history, name="article_history"),
    path("systems/<slug:system_slug>/<slug:slug>/diff/", browse.article_diff, name="article_diff"),
    path("systems/<slug:system_slug>/<slug:slug>/edit/", editing.article_edit, name="article_edit"),
    # Three segments, so no article slug can shadow it.
    path("systems/<slug:system_slug>/articles/new/", editing.article_create, name="article_create"),
    path("articles/preview/", editing.article_preview, name="article_preview"),
    path("import/", import_views.import_guide, name="import_guide"),
    path("match/", matching_views.match, name="match"),
    path("match/unknown/new/", matching_views.unknown_symptom_new, name="unknown_symptom_new"),
    # Diagnostic checks of a system (and its dependencies), an article or a symptom; results poll by batch.
    path("systems/<slug:slug>/checks/run/", checks.system_checks_run_view, name="system_checks_run"),
    path("systems/<slug:system_slug>/<slug:slug>/checks/run/", checks.article_checks_run_view,
         name="article_checks_run"),
    path("symptoms/<int:pk>/checks/run/", checks.symptom_checks_run_view, name="symptom_checks_run"),
    path("check-results/<uuid:batch>/", checks.check_results, name="check_results"),
]
