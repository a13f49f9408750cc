"""REST endpoints for accounts: thin over accounts.services/selectors."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, permissions, status
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import selectors, services, throttling
from accounts.models import User
from accounts.serializers import (
    AvatarUploadSerializer,
    BlockCreateSerializer,
    BlockSerializer,
    LogoutSerializer,
    MeSerializer,
    MeUpdateSerializer,
    PasswordChangeSerializer,
    TicketSerializer,
    TokenPairSerializer,
    UserSearchSerializer,
    UserSerializer,
)
from chatsite.api_errors import errors


class ThrottledTokenObtainPairView(TokenObtainPairView):
    """simplejwt's token view with the same failed-login throttling as the web form."""

    # 401: wrong username or password. 429: too many failures from this address or for this user.
    @extend_schema(responses={200: TokenObtainPairSerializer, **errors(401, 429)})
    def post(self, request: Request, *args, **kwargs) -> Response:
        username = str(request.data.get("username", "")) if hasattr(request.data, "get") else ""
        ip = throttling.client_ip(request)
        throttling.login_throttle_check(ip=ip, username=username)
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            throttling.login_failed(ip=ip, username=username)
            raise
        throttling.login_succeeded(ip=ip, username=username)
        return response


# 401: the refresh token is invalid, expired or blacklisted.
@extend_schema_view(post=extend_schema(responses={200: TokenRefreshSerializer, **errors(401)}))
class RotatingTokenRefreshView(TokenRefreshView):
    """simplejwt's refresh view: a new pair; the old refresh token is blacklisted."""


class LogoutView(APIView):
    """Blacklist a refresh token so it can no longer mint access tokens."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(request=LogoutSerializer, responses={205: None})
    def post(self, request: Request) -> Response:
        data = LogoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            RefreshToken(data.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            raise ValidationError({"refresh": [str(exc)]}) from exc
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(APIView):
    """The logged-in account; PATCH changes its profile (display name, email, theme)."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeUpdateSerializer, responses=MeSerializer)
    def patch(self, request: Request) -> Response:
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user=request.user, **data.validated_data)
        return Response(MeSerializer(user).data)


class AvatarView(APIView):
    """The caller's picture: PUT a file (multipart, field ``avatar``) to set it, DELETE to go back to
    the default (initials on a colour)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": AvatarUploadSerializer}, responses=MeSerializer)
    def put(self, request: Request) -> Response:
        data = AvatarUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_avatar_set(user=request.user, upload=data.validated_data["avatar"])
        return Response(MeSerializer(user).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        services.user_avatar_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    """Change the password (old + new). Every refresh token of the account is revoked and its
    sockets close; the answer is a fresh token pair for the caller (a session stays logged in)."""

    @extend_schema(request=PasswordChangeSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request) -> Response:
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_password_change(user=request.user, **data.validated_data)
        if request.session.session_key:
            update_session_auth_hash(request._request, user)
        refresh = RefreshToken.for_user(user)
        return Response(
            TokenPairSerializer({"refresh": str(refresh), "access": str(refresh.access_token)}).data
        )


class UserSearchPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 20


@extend_schema_view(get=extend_schema(parameters=[UserSearchSerializer]))
class UserListView(generics.ListAPIView):
    """Users by username prefix: ``?search=<prefix>``."""

    serializer_class = UserSerializer
    pagination_class = UserSearchPagination

    def get_queryset(self) -> QuerySet[User]:
        query = UserSearchSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.users_search(prefix=query.validated_data["search"])


class WsTicketView(APIView):
    """A single-use ticket for ``/ws/?ticket=...``, valid for WS_TICKET_TTL seconds."""

    @extend_schema(request=None, responses={201: TicketSerializer, **errors(429)})
    def post(self, request: Request) -> Response:
        throttling.ticket_take(user_id=request.user.id)
        ticket = services.ws_ticket_issue(user=request.user)
        return Response(
            TicketSerializer({"ticket": ticket, "expires_in": settings.WS_TICKET_TTL}).data,
            status=status.HTTP_201_CREATED,
        )


class BlockListView(APIView):
    @extend_schema(responses=BlockSerializer)
    def get(self, request: Request) -> Response:
        """Whom you have blocked: their messages collapse on your pages; no direct messages
        either way."""
        return Response({"users": selectors.blocked_ids(user_id=request.user.id)})

    @extend_schema(request=BlockCreateSerializer, responses={201: BlockSerializer})
    def post(self, request: Request) -> Response:
        """Block a user for yourself (idempotent). Nobody is told."""
        data = BlockCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_block(user=request.user, target_id=data.validated_data["user"])
        return Response(
            {"users": selectors.blocked_ids(user_id=request.user.id)}, status=status.HTTP_201_CREATED
        )


class BlockDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, user_id: int) -> Response:
        """Unblock a user (unblocking someone not blocked changes nothing)."""
        services.user_unblock(user=request.user, target_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
