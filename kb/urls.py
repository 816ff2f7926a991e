from django.urls import path

from . import views

app_name = "kb"

urlpatterns = [
    path("", views.home, name="home"),
    path("systems/<slug:slug>/", views.system_detail, name="system_detail"),
    path("systems/<slug:system_slug>/<slug:slug>/", views.article_detail, name="article_detail"),
]
