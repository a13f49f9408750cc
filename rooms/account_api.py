"""The REST endpoint that makes accounts (see ``rooms.account_views`` for why it lives in the
rooms app): thin over ``rooms.services.account_register``. Deletion: ``messaging.api``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttling
from accounts.exceptions import RegistrationError
from accounts.serializers import RegisteredSerializer, RegisterSerializer
from chatsite.api_errors import errors
from rooms import services


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredSerializer, **errors(429)})
    def post(self, request: Request) -> Response:
        throttling.registration_take(ip=throttling.client_ip(request))
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.account_register(**data.validated_data)
        except RegistrationError as exc:
            raise ValidationError(exc.errors) from exc
        return Response(RegisteredSerializer(user).data, status=status.HTTP_201_CREATED)
