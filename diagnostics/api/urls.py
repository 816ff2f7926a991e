from rest_framework.routers import DefaultRouter

from .views import CheckRunViewSet, CheckStateChangeViewSet, CheckViewSet, MonitorViewSet

router = DefaultRouter()
router.register("checks", CheckViewSet, basename="diagnostics-check")
router.register("check-runs", CheckRunViewSet, basename="diagnostics-check-run")
router.register("monitors", MonitorViewSet, basename="diagnostics-monitor")
router.register("check-events", CheckStateChangeViewSet, basename="diagnostics-check-event")

urlpatterns = router.urls
