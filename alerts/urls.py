from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("sources/", views.source_list, name="sources"),
    path("sources/<int:pk>/test/", views.source_test, name="source-test"),
]
