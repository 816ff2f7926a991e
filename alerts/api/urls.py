from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

app_name = "alerts-api"

router = DefaultRouter()
router.include_root_view = False
router.register("alert-sources", views.AlertSourceViewSet, basename="alert-source")

urlpatterns = [
    path("alerts/alertmanager/<str:key>/", views.alertmanager_receive, name="receive-alertmanager"),
    path("alerts/grafana/<str:key>/", views.grafana_receive, name="receive-grafana"),
    path("alerts/generic/<str:key>/", views.generic_receive, name="receive-generic"),
    # Events v2 clients append /v2/enqueue to their base URL, without a trailing slash.
    path("alerts/events/v2/enqueue", views.events_v2_enqueue, name="events-v2-enqueue"),
    *router.urls,
]
