"""Alerts API: the receiving endpoints (keyed, sessionless) and the staff sources resource."""

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import AdminScope

from .. import receive, selectors, services
from ..models import AlertSource
from ..urls_paths import events_v2_base_url, receive_url
from . import serializers as s

RECEIVE_RESPONSES = {
    202: OpenApiResponse(s.AcceptedSerializer, description="Stored: each alert with its outcome and incident"),
    400: OpenApiResponse(description="Not JSON, or not this format's shape (`errors` lists the problems)"),
    404: OpenApiResponse(description="No alert source has this key"),
    413: OpenApiResponse(description="Body larger than TRIAGE_ALERT_MAX_BYTES"),
}


def _keyed_receiver(kind: str, summary: str) -> Callable:
    """A sessionless POST endpoint authenticated only by the source key in its URL (no throttle: senders burst)."""

    @extend_schema(summary=summary, request=OpenApiTypes.OBJECT, responses=RECEIVE_RESPONSES, auth=[], tags=["alerts"])
    @api_view(["POST"])
    @authentication_classes([])
    @permission_classes([AllowAny])
    @throttle_classes([])
    @parser_classes([])  # the body is read (bounded) by alerts.receive, never by DRF
    def receiver(request: Request, key: str) -> JsonResponse:
        return receive.receive_keyed(request, kind=kind, key=key)

    receiver.__name__ = f"{kind}_receive"
    return receiver


alertmanager_receive = _keyed_receiver(AlertSource.Kind.ALERTMANAGER, "Receive an Alertmanager webhook (version 4)")
grafana_receive = _keyed_receiver(AlertSource.Kind.GRAFANA, "Receive a Grafana alerting webhook")
generic_receive = _keyed_receiver(AlertSource.Kind.GENERIC, "Receive any JSON alert, read by the source's field paths")


@extend_schema(summary="Events API v2 enqueue (PagerDuty compatible); routing_key is the source key",
               request=OpenApiTypes.OBJECT, auth=[], tags=["alerts"],
               responses={202: OpenApiResponse(s.EventsV2AcceptedSerializer, description="Event processed"),
                          400: OpenApiResponse(s.EventsV2ErrorSerializer, description="Invalid event"),
                          404: OpenApiResponse(s.EventsV2ErrorSerializer, description="Unknown routing key")})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
@parser_classes([])
def events_v2_enqueue(request: Request) -> JsonResponse:
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
