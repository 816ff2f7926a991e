"""`/api/v1/api-keys/`: list, create (the secret is returned once) and revoke your own API keys."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from .models import ApiKey
from .permissions import ManagesOwnKeys
from .selectors import api_key_list
from .serializers import ApiKeyCreatedSerializer, ApiKeyCreateSerializer, ApiKeySerializer
from .services import api_key_create, api_key_revoke


@extend_schema_view(
    list=extend_schema(summary="List your API keys (secrets are never shown again)"),
    retrieve=extend_schema(summary="Show one of your API keys"),
    create=extend_schema(
        summary="Create an API key",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        description="The response carries the secret `key` once; only its hash is stored.",
    ),
    destroy=extend_schema(
        summary="Revoke an API key",
        responses={204: OpenApiResponse(description="Revoked (revoking twice is fine).")},
    ),
)
@extend_schema(tags=["api keys"])
class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ManagesOwnKeys]
    lookup_field = "prefix"
    lookup_value_regex = "[0-9a-f]+"
    filter_backends: list = []  # a handful of rows per user; nothing to filter

    def get_queryset(self) -> QuerySet[ApiKey]:
        return api_key_list(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer]:
        return ApiKeyCreateSerializer if self.action == "create" else ApiKeySerializer

    def perform_create(self, serializer: BaseSerializer) -> None:
        data = serializer.validated_data
        key, secret = api_key_create(
            user=self.request.user, scopes=data["scopes"], name=data["name"], expires_at=data["expires_at"]
        )
        key.key = secret  # read by ApiKeyCreatedSerializer for this one response, never saved
        serializer.instance = key

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        body = ApiKeyCreatedSerializer(serializer.instance, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    def perform_destroy(self, instance: ApiKey) -> None:
        api_key_revoke(key=instance)
