from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False  # /api/v1/ lists every app's routes once, not per app
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("incident-severities", views.SeverityViewSet, basename="incident-severity")
router.register("incident-escalation-levels", views.EscalationLevelViewSet, basename="incident-escalation-level")
router.register("incident-webhooks", views.WebhookEndpointViewSet, basename="incident-webhook")

urlpatterns = router.urls
