from django.urls import path
from rest_framework.routers import DefaultRouter

from .matching.views import MatchAPIView
from .search.views import SearchAPIView
from .views import ArticleViewSet, RevisionViewSet, SolutionViewSet, SymptomViewSet, SystemViewSet

router = DefaultRouter()
router.register("systems", SystemViewSet, basename="kb-system")
router.register("articles", ArticleViewSet, basename="kb-article")
router.register("revisions", RevisionViewSet, basename="kb-revision")
router.register("symptoms", SymptomViewSet, basename="kb-symptom")
router.register("solutions", SolutionViewSet, basename="kb-solution")

urlpatterns = [
    path("search/", SearchAPIView.as_view(), name="kb-search"),
    path("match/", MatchAPIView.as_view(), name="kb-match"),
    *router.urls,
]
