"""REST endpoints for messages: thin over messaging.services/selectors."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatsite.api_errors import errors
from messaging import batching, selectors, services
from messaging.exceptions import InvalidMessage
from messaging.serializers import (
    HistoryQuerySerializer,
    MessageCreateSerializer,
    MessagePageSerializer,
    MessageSerializer,
)


class MessageListView(APIView):
    @extend_schema(parameters=[HistoryQuerySerializer], responses=MessagePageSerializer)
    def get(self, request: Request, room_id: int) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]
        messages = selectors.message_payloads_page(
            user=request.user,
            room_id=room_id,
            before=query.validated_data.get("before"),
            after=query.validated_data.get("after"),
            limit=limit + 1,
        )
        return Response({"results": messages[:limit], "has_more": len(messages) > limit})

    # 200: a retry with the client_id of a message already sent, which it returns unchanged.
    # 429: past the send rate limit (SEND_RATE_LIMIT per SEND_RATE_WINDOW seconds, every interface).
    @extend_schema(
        request=MessageCreateSerializer,
        responses={201: MessageSerializer, 200: MessageSerializer, **errors(429)},
    )
    def post(self, request: Request, room_id: int) -> Response:
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        send = services.SendRequest(sender=request.user, room_id=room_id, **data.validated_data)
        try:
            ack = batching.message_send_in_request(request._request, send)
        except InvalidMessage as exc:
            raise ValidationError({exc.field or "body": [exc.detail]}) from exc
        return Response(
            ack["message"], status=status.HTTP_200_OK if ack["duplicate"] else status.HTTP_201_CREATED
        )
