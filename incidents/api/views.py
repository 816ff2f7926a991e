"""Incidents API: thin views over incidents.selectors and incidents.services."""

import hashlib
import json

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors
from ..filtersets import IncidentFilter
from ..models import EscalationLevel, IdempotencyKey, Incident, Severity, WebhookEndpoint
from ..permissions import can_cancel_incident, can_work_incident
from ..services.attachments import AttachmentTooLarge, Upload, attachment_add
from ..services.checks import incident_verify
from ..services.comments import incident_comment_add
from ..services.escalation import incident_escalate
from ..services.lifecycle import (
    incident_acknowledge,
    incident_open,
    incident_people_set,
    incident_resolve,
    incident_transition,
    incident_update,
)
from ..services.webhooks import webhook_endpoint_create
from . import serializers as s
from .permissions import SignedIn, SignedInStaffWrites, StaffOnly, StaffReadsEscalationLevels

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Retrying a POST with the same key (same user, same body) returns the first response "
                "and creates nothing new. Keys are kept for TRIAGE_IDEMPOTENCY_HOURS.",
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class IdempotencyMismatch(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


def request_fingerprint(request: Request) -> str:
    """Hash of what the client sent (method, path, fields; files by name and size)."""
    fields = {}
    for key in sorted(request.data.keys()) if hasattr(request.data, "keys") else []:
        value = request.data.getlist(key) if hasattr(request.data, "getlist") else request.data[key]
        fields[key] = [getattr(v, "name", v) for v in value] if isinstance(value, list) else value
    raw = json.dumps([request.method, request.path, fields], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _require_worker(request: Request, incident: Incident) -> None:
    if not can_work_incident(request.user, incident):
        raise PermissionDenied("Only responders and staff can do this.")


@extend_schema_view(
    list=extend_schema(summary="Incidents you may see (reporters: their own; responders and staff: all)"),
    retrieve=extend_schema(summary="One incident"),
    partial_update=extend_schema(summary="Change fields (responders)", request=s.IncidentUpdateSerializer,
                                 responses=s.IncidentSerializer),
)
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.IncidentSerializer
    permission_classes = [SignedIn]
    filterset_class = IncidentFilter
    ordering_fields = ["created_at", "severity__rank", "status", "updated_at"]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list(user=self.request.user).prefetch_related("assignees", "participants",
                                                                               "symptoms")

    @extend_schema(summary="File an incident", request=s.IncidentCreateSerializer,
                   responses={201: s.IncidentSerializer, 409: OpenApiResponse(description="Same key in flight"),
                              422: OpenApiResponse(description="Key reused with a different body")},
                   parameters=[IDEMPOTENCY_HEADER])
    def create(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 255:
            raise serializers.ValidationError({"Idempotency-Key": "At most 255 characters."})
        fingerprint = request_fingerprint(request) if key else ""
        if key:
            stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise IdempotencyMismatch()
                return Response(stored.response_body, status=stored.response_status,
                                headers={"Idempotent-Replayed": "true"})
        serializer = s.IncidentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            incident = incident_open(reporter=request.user, **serializer.validated_data)
            body = s.IncidentSerializer(incident).data
            if key:
                try:
                    with transaction.atomic():
                        IdempotencyKey.objects.create(user=request.user, key=key, fingerprint=fingerprint,
                                                      response_status=201, response_body=body)
                except IntegrityError:
                    # A concurrent request with this key won: undo ours so only one incident exists.
                    raise Conflict("A request with this Idempotency-Key is already being processed; retry.") from None
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        _require_worker(request, incident)
        serializer = s.IncidentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        assignees = data.pop("assignees", None)
        with transaction.atomic():
            incident_update(incident=incident, actor=request.user, **data)
            if assignees is not None:
                incident_people_set(incident=incident, actor=request.user, assignees=assignees)
        return Response(s.IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    def _result(self, incident: Incident, changed: bool) -> Response:
        fresh = self.get_queryset().get(pk=incident.pk)
        return Response({"changed": changed, "incident": s.IncidentSerializer(fresh).data})

    @extend_schema(summary="Acknowledge (responders): triage -> investigating; stops escalation",
                   request=None, responses=s.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        _require_worker(request, incident)
        return self._result(incident, incident_acknowledge(incident=incident, actor=request.user))

    @extend_schema(summary="Move to another status (responders; reporters may cancel their own in triage)",
                   request=s.TransitionSerializer, responses=s.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        serializer = s.TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to_status = serializer.validated_data["status"]
        if not (can_work_incident(request.user, incident)
                or (to_status == Incident.Status.CANCELLED and can_cancel_incident(request.user, incident))):
            raise PermissionDenied("Only responders and staff can do this.")
        if to_status == Incident.Status.RESOLVED:
            raise serializers.ValidationError({"status": "Use the resolve action to resolve."})
        changed = incident_transition(
            incident=incident, to_status=to_status, actor=request.user, note=serializer.validated_data["note"],
            duplicate_of=serializer.validated_data["duplicate_of"])
        return self._result(incident, changed)

    @extend_schema(summary="Resolve (responders), linking the article or solution that fixed it",
                   request=s.ResolveSerializer, responses=s.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        _require_worker(request, incident)
        serializer = s.ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = incident_resolve(incident=incident, actor=request.user, **serializer.validated_data)
        return self._result(incident, changed)

    @extend_schema(summary="Escalate now to the next level not yet notified (responders)",
                   request=None, responses=s.EscalateResultSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        _require_worker(request, incident)
        record = incident_escalate(incident=incident, actor=request.user)
        return Response({"escalated": record is not None,
                         "record": s.EscalationRecordSerializer(record).data if record else None})

    @extend_schema(summary="Verify fix: re-run the checks that are failing (responders)",
                   request=None, responses=s.VerifyResultSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        _require_worker(request, incident)
        outcomes = incident_verify(incident=incident, actor=request.user)
        return Response({
            "checks_available": True,  # diagnostics is always installed; the field stays for API clients
            "results": [o.__dict__ for o in outcomes],
            "still_failing": len(selectors.incident_failing_checks(incident=incident)),
        })

    @extend_schema(methods=["GET"], summary="Comments", responses=s.CommentSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Add a Markdown comment", request=s.CommentCreateSerializer,
                   responses={201: s.CommentSerializer})
    @action(detail=True, methods=["get", "post"])
    def comments(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            comments = incident.comments.select_related("author").order_by("created_at", "id")
            return Response(s.CommentSerializer(comments, many=True).data)
        serializer = s.CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = incident_comment_add(incident=incident, author=request.user,
                                                body=serializer.validated_data["body"])
        return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], summary="Attachments", responses=s.AttachmentSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Attach a log, bundle (.tar.gz, .zip) or other file",
                   request={"multipart/form-data": s.AttachmentUploadSerializer},
                   responses={201: s.AttachmentSerializer,
                              413: OpenApiResponse(description="Larger than TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES")})
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser])
    def attachments(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            return Response(s.AttachmentSerializer(incident.attachments.select_related("uploaded_by"),
                                                   many=True).data)
        serializer = s.AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            attachment = attachment_add(
                incident=incident, upload=Upload(name=upload.name, file=upload), actor=request.user)
        except AttachmentTooLarge as exc:
            return Response({"status": 413, "error": "request_too_large", "detail": exc.messages[0]},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Timeline, oldest first", responses=s.TimelineEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        return Response(s.TimelineEventSerializer(selectors.incident_timeline(incident=incident), many=True).data)


class ProtectedDeleteMixin:
    def perform_destroy(self, instance: object) -> None:
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict("Still used by incidents; it cannot be deleted.") from None


@extend_schema_view(
    list=extend_schema(summary="Severities with their response and escalation targets"),
    create=extend_schema(summary="Add a severity (staff)"),
    update=extend_schema(summary="Change a severity (staff)"),
    partial_update=extend_schema(summary="Change a severity (staff)"),
    destroy=extend_schema(summary="Delete an unused severity (staff)"),
)
class SeverityViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    queryset = Severity.objects.order_by("rank")
    serializer_class = s.SeveritySerializer
    permission_classes = [SignedInStaffWrites]
    pagination_class = None
    filter_backends: list = []


@extend_schema_view(
    list=extend_schema(summary="Escalation levels, in order (on-call, manager, ...); staff only"),
    create=extend_schema(summary="Add an escalation level (staff)"),
)
class EscalationLevelViewSet(viewsets.ModelViewSet):
    queryset = EscalationLevel.objects.order_by("order")
    serializer_class = s.EscalationLevelSerializer
    permission_classes = [StaffReadsEscalationLevels]
    pagination_class = None
    filter_backends: list = []


@extend_schema_view(
    list=extend_schema(summary="Outgoing webhook endpoints (staff)"),
    create=extend_schema(summary="Add a webhook endpoint (staff); deliveries are signed with its secret"),
)
class WebhookEndpointViewSet(viewsets.ModelViewSet):
    queryset = WebhookEndpoint.objects.order_by("name", "id")
    serializer_class = s.WebhookEndpointSerializer
    permission_classes = [StaffOnly]
    filter_backends: list = []

    def perform_create(self, serializer: s.WebhookEndpointSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = webhook_endpoint_create(
            name=data["name"], url=data["url"], secret=data["secret"], events=data.get("events", []),
            active=data.get("active", True), created_by=self.request.user,
            format=data.get("format", WebhookEndpoint.Format.JSON))

    @extend_schema(summary="Delivery log of this endpoint, newest first, one page at a time",
                   responses=s.WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        page = self.paginate_queryset(endpoint.deliveries.order_by("-created_at", "-id"))
        return self.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)

