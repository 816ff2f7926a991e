from django.urls import path

from .views import browse

app_name = "kb"

urlpatterns = [
    path("", browse.home, name="home"),
    path("systems/<slug:slug>/", browse.system_detail, name="system_detail"),
    path("systems/<slug:system_slug>/<slug:slug>/", browse.article_detail, name="article_detail"),
]
