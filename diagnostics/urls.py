from django.urls import path

from . import views

app_name = "diagnostics"

urlpatterns = [
    path("checks/", views.check_list, name="check_list"),
    path("checks/new/", views.check_new, name="check_new"),
    path("checks/import/", views.checks_import, name="checks_import"),
    path("checks/export.yml", views.checks_export, name="checks_export"),
    path("checks/<int:pk>/", views.check_detail, name="check_detail"),
    path("checks/<int:pk>/edit/", views.check_edit, name="check_edit"),
    path("checks/<int:pk>/delete/", views.check_remove, name="check_delete"),
    path("checks/<int:pk>/run/", views.check_run, name="check_run"),
    path("batches/<uuid:batch>/", views.batch_detail, name="batch_detail"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("monitors/", views.monitor_list, name="monitor_list"),
]
