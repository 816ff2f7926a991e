"""Alerts API: the receiving endpoints (keyed, sessionless) and the staff sources resource."""

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import AdminScope

from .. import receive, selectors, services
from ..models import AlertSource
from ..urls_paths import events_v2_base_url, receive_url
from . import serializers as s


@csrf_exempt
def alertmanager_receive(request: HttpRequest, key: str) -> JsonResponse:
    return receive.receive_keyed(request, kind=AlertSource.Kind.ALERTMANAGER, key=key)


@csrf_exempt
def grafana_receive(request: HttpRequest, key: str) -> JsonResponse:
    return receive.receive_keyed(request, kind=AlertSource.Kind.GRAFANA, key=key)


@csrf_exempt
def generic_receive(request: HttpRequest, key: str) -> JsonResponse:
    return receive.receive_keyed(request, kind=AlertSource.Kind.GENERIC, key=key)


@csrf_exempt
def events_v2_enqueue(request: HttpRequest) -> JsonResponse:
    return receive.receive_events_v2(request)


@extend_schema_view(
    list=extend_schema(summary="Alert sources (staff)"),
    retrieve=extend_schema(summary="One alert source (staff)"),
    partial_update=extend_schema(summary="Change an alert source (staff)"),
    destroy=extend_schema(summary="Delete an alert source and its alerts (staff)"),
)
class AlertSourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                         mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = s.AlertSourceSerializer
    permission_classes = [AdminScope]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[AlertSource]:
        return selectors.alert_source_list()

    @extend_schema(summary="Add an alert source (staff); the answer holds its key, shown this once",
                   request=s.AlertSourceSerializer, responses={201: s.AlertSourceCreatedSerializer})
    def create(self, request: Request) -> Response:
        serializer = s.AlertSourceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source, key = services.alert_source_create(created_by=request.user, **data)
        body = dict(s.AlertSourceSerializer(source).data)
        body["key"] = key
        body["receive_url"] = receive_url(source, key)
        if source.kind == AlertSource.Kind.EVENTS_V2:
            body["events_v2_base_url"] = events_v2_base_url()
        return Response(body, status=201)
