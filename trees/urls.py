from django.urls import path

from . import views

app_name = "trees"

_TREE = "trees/<slug:system_slug>/<slug:slug>/"
_WALK = _TREE + "walk/<int:pk>/"

urlpatterns = [
    path("trees/", views.tree_list, name="tree_list"),
    path("trees/new/", views.tree_upload, name="tree_new"),
    path(_TREE, views.tree_detail, name="tree_detail"),
    path(_TREE + "start/", views.walkthrough_start, name="walkthrough_start"),
    path(_TREE + "yaml/", views.tree_yaml, name="tree_yaml"),
    path(_TREE + "upload/", views.tree_upload, name="tree_upload"),
    path(_TREE + "analytics/", views.tree_analytics, name="tree_analytics"),
    path(_TREE + "history/", views.tree_history, name="tree_history"),
    path(_TREE + "nodes/<str:key>/edit/", views.tree_node_edit, name="tree_node_edit"),
    path(_WALK, views.walkthrough_resume, name="walkthrough_resume"),
    path(_WALK + "step/<int:number>/", views.walkthrough_step, name="walkthrough_step"),
    path(_WALK + "restart/", views.walkthrough_restart, name="walkthrough_restart"),
    path(_WALK + "transcript/", views.walkthrough_transcript, name="walkthrough_transcript"),
]
