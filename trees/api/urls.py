from rest_framework.routers import DefaultRouter

from .views import TreeViewSet, WalkthroughViewSet

# Mounted beside kb's router under /api/v1/; kb's router already serves the API root page.
router = DefaultRouter()
router.include_root_view = False
router.register("trees", TreeViewSet, basename="trees-tree")
router.register("walkthroughs", WalkthroughViewSet, basename="trees-walkthrough")

urlpatterns = router.urls
