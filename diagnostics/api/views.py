from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import EvidenceRead, ReadPublicWriteScoped, StaffWritesOnly

from .. import selectors
from ..filtersets import CheckFilter, CheckRunFilter, CheckStateChangeFilter
from ..models import Check, CheckRun, CheckStateChange
from ..services import check_create, check_delete, check_runs_queue, check_update
from .serializers import (
    CheckRunSerializer,
    CheckSerializer,
    CheckStateChangeSerializer,
    MonitorSerializer,
    RunsQueuedSerializer,
)


def _as_api_error(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


@extend_schema_view(
    list=extend_schema(summary="List checks"),
    retrieve=extend_schema(summary="Show a check with its current state"),
    create=extend_schema(summary="Create a check (staff)"),
    update=extend_schema(summary="Replace a check (staff)"),
    partial_update=extend_schema(summary="Change a check (staff)"),
    destroy=extend_schema(summary="Delete a check and its history (staff)"),
)
@extend_schema(tags=["diagnostics"])
class CheckViewSet(viewsets.ModelViewSet):
    serializer_class = CheckSerializer
    permission_classes = [StaffWritesOnly]
    filterset_class = CheckFilter
    ordering_fields = ["name", "slug", "current_state", "last_run_at", "created_at"]

    def get_queryset(self) -> QuerySet[Check]:
        return selectors.check_list()

    def perform_create(self, serializer: CheckSerializer) -> None:
        try:
            serializer.instance = check_create(created_by=self.request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _as_api_error(exc) from exc

    def perform_update(self, serializer: CheckSerializer) -> None:
        try:
            serializer.instance = check_update(check=serializer.instance, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _as_api_error(exc) from exc

    def perform_destroy(self, instance: Check) -> None:
        check_delete(check=instance)

    @extend_schema(
        summary="Run a check now",
        request=None,
        responses={202: RunsQueuedSerializer, 404: OpenApiResponse(description="No such check.")},
        description="Queues a run for a Celery worker and answers at once; poll the runs for results. "
                    "Needs a signed-in user (an API key needs the write scope), not staff.",
    )
    @action(detail=True, methods=["post"], permission_classes=[ReadPublicWriteScoped])
    def run(self, request: Request, pk: str | None = None) -> Response:
        check = self.get_object()
        batch, runs = check_runs_queue(checks=[check], trigger=CheckRun.Trigger.API, requested_by=request.user)
        body = RunsQueuedSerializer({"batch": batch, "runs": [run.pk for run in runs]}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List check runs, newest first"),
    retrieve=extend_schema(summary="Show a run: state, message, metrics and evidence"),
)
@extend_schema(tags=["diagnostics"])
class CheckRunViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [EvidenceRead]
    serializer_class = CheckRunSerializer
    filterset_class = CheckRunFilter
    ordering_fields = ["created_at", "finished_at", "duration_ms"]

    def get_queryset(self) -> QuerySet[CheckRun]:
        return selectors.run_list()


@extend_schema_view(
    list=extend_schema(summary="List monitors with state, 24-hour uptime and recent response times"),
    retrieve=extend_schema(summary="Show a monitor"),
)
@extend_schema(tags=["diagnostics"])
class MonitorViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = MonitorSerializer
    filterset_class = CheckFilter
    ordering_fields = ["name", "current_state", "state_changed_at"]

    def get_queryset(self) -> QuerySet[Check]:
        return selectors.monitor_list()


@extend_schema_view(
    list=extend_schema(summary="List state changes of checks (events), newest first"),
    retrieve=extend_schema(summary="Show a state change"),
)
@extend_schema(tags=["diagnostics"])
class CheckStateChangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [EvidenceRead]
    serializer_class = CheckStateChangeSerializer
    filterset_class = CheckStateChangeFilter

    def get_queryset(self) -> QuerySet[CheckStateChange]:
        return selectors.state_changes()
