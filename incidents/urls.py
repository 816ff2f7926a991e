from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    path("new/validate/", views.incident_validate_field, name="validate_field"),
    path("new/suggest/", views.incident_suggest, name="suggest"),
    path("metrics/", views.incident_metrics, name="metrics"),
    path("action-items/", views.action_item_list, name="action_items"),
    path("action-items/<int:item_id>/toggle/", views.action_item_toggle, name="action_item_toggle"),
    path("<int:pk>/", views.incident_detail, name="detail"),
    path("<int:pk>/timeline/", views.incident_timeline, name="timeline"),
    path("<int:pk>/timeline/<int:event_id>/important/", views.timeline_event_important, name="event_important"),
    path("<int:pk>/comments/", views.incident_comment, name="comment"),
    path("<int:pk>/attachments/", views.incident_attach, name="attach"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<int:pk>/actions/<slug:action>/", views.incident_action, name="action"),
    path("<int:pk>/review/", views.incident_review, name="review"),
    path("<int:pk>/review/items/", views.action_item_add, name="action_item_add"),
]
