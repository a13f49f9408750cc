"""REST endpoints for messages: thin over messaging.services/selectors."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import PasswordConfirmSerializer
from chatsite.api_errors import errors
from messaging import (
    accounts,
    batching,
    changes,
    reads,
    receipts,
    reports,
    search_selectors,
    selectors,
    services,
    typists,
    uploads,
)
from messaging.exceptions import (
    InvalidAttachments,
    InvalidDeliveredPointer,
    InvalidMessage,
    InvalidReadPointer,
    InvalidReply,
    InvalidUpload,
    MessageNotFound,
    UploadTooLarge,
)
from messaging.serialization import attachment_payload, message_payload
from messaging.serializers import (
    AttachmentSerializer,
    AttachmentUploadSerializer,
    DeliveredMarkSerializer,
    HistoryQuerySerializer,
    MessageCreateSerializer,
    MessageEditSerializer,
    MessagePageSerializer,
    MessageSerializer,
    ReactionResultSerializer,
    ReactionToggleSerializer,
    ReadMarkSerializer,
    ReceiptsSerializer,
    ReportCreateSerializer,
    ReportReceiptSerializer,
    RevisionSerializer,
    SearchPageSerializer,
    SearchQuerySerializer,
    ThreadSerializer,
    TypingSerializer,
    UnreadSerializer,
)


class MessageListView(APIView):
    @extend_schema(parameters=[HistoryQuerySerializer], responses=MessagePageSerializer)
    def get(self, request: Request, room_id: int) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]
        if (around := query.validated_data.get("around")) is not None:
            page = selectors.history_around(
                user=request.user, room_id=room_id, message_id=around, limit=limit
            )
            if page is None:
                raise MessageNotFound()
            return Response(
                {"results": page.messages, "has_more": page.has_more, "has_newer": page.has_newer}
            )
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
        except (InvalidMessage, InvalidReply, InvalidAttachments) as exc:
            raise ValidationError({exc.field or "body": [exc.detail]}) from exc
        return Response(
            ack["message"], status=status.HTTP_200_OK if ack["duplicate"] else status.HTTP_201_CREATED
        )


class MessageDetailView(APIView):
    """One message: read it, edit it (its author), delete it (its author, or a room owner/admin).

    A message in a room you are not in answers 404, exactly like one that does not exist."""

    @extend_schema(responses=MessageSerializer)
    def get(self, request: Request, message_id: int) -> Response:
        return Response(selectors.message_get(user=request.user, message_id=message_id))

    @extend_schema(request=MessageEditSerializer, responses={200: MessageSerializer, **errors(409)})
    def patch(self, request: Request, message_id: int) -> Response:
        data = MessageEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            message = changes.message_edit(
                actor=request.user, message_id=message_id, body=data.validated_data["body"]
            )
        except InvalidMessage as exc:
            raise ValidationError({exc.field or "body": [exc.detail]}) from exc
        return Response(message_payload(message))

    @extend_schema(request=None, responses={200: MessageSerializer})
    def delete(self, request: Request, message_id: int) -> Response:
        """Answers the tombstone (deleting a deleted message answers it again)."""
        return Response(
            message_payload(changes.message_delete(actor=request.user, message_id=message_id, via="api"))
        )


class ReactionView(APIView):
    @extend_schema(request=ReactionToggleSerializer, responses={200: ReactionResultSerializer, **errors(409)})
    def post(self, request: Request, message_id: int) -> Response:
        """Toggle your reaction with this emoji: added if absent, taken back if present."""
        data = ReactionToggleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = changes.reaction_toggle(
            user=request.user, message_id=message_id, emoji=data.validated_data["emoji"]
        )
        return Response({"added": result.added, "message": message_payload(result.message)})


class ReportView(APIView):
    @extend_schema(
        request=ReportCreateSerializer,
        responses={201: ReportReceiptSerializer, 200: ReportReceiptSerializer, **errors(409, 429)},
    )
    def post(self, request: Request, message_id: int) -> Response:
        """Report a message to the site's moderators (201; 200 when you had reported it already:
        nothing new is filed). The reported user is never told who reported them."""
        data = ReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report, created = reports.message_report(
            reporter=request.user, message_id=message_id, **data.validated_data
        )
        return Response(
            {"id": report.pk, "message": report.message_id, "reason": report.reason, "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ThreadView(APIView):
    @extend_schema(responses=ThreadSerializer)
    def get(self, request: Request, message_id: int) -> Response:
        thread = selectors.thread(user=request.user, message_id=message_id)
        return Response({"root": thread.root, "replies": thread.replies})


class RevisionListView(APIView):
    @extend_schema(responses=RevisionSerializer(many=True))
    def get(self, request: Request, message_id: int) -> Response:
        """Earlier versions of an edited message, newest first (none once it is deleted)."""
        return Response(selectors.revisions(user=request.user, message_id=message_id))


class MessageSearchView(APIView):
    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchPageSerializer)
    def get(self, request: Request) -> Response:
        """Messages in your rooms and DMs matching ``q``, newest or most relevant first.

        A bad operator value (an unknown user or room, a malformed date) answers 400 saying so
        under ``q``; a room you are not in is refused exactly as one that does not exist."""
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = search_selectors.messages_search(
            user=request.user, text=query.validated_data["q"], **_page(query)
        )
        return Response({"results": page.results, "has_more": page.has_more, "next_before": page.next_before})


def _page(query: SearchQuerySerializer) -> dict:
    data = query.validated_data
    return {
        "order": data["order"],
        "limit": data["limit"],
        "offset": data["offset"],
        "before": data.get("before"),
    }


class UnreadListView(APIView):
    @extend_schema(responses=UnreadSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Unread counts of every room and DM you are in, in one call (by room id)."""
        return Response([state.payload() for state in selectors.unread_counts(user=request.user)])


class ReadMarkView(APIView):
    @extend_schema(request=ReadMarkSerializer, responses=UnreadSerializer)
    def post(self, request: Request, room_id: int) -> Response:
        """Mark the room read up to a message. A pointer at or behind yours changes nothing (and
        answers your current state); your other sockets hear ``read.updated`` when it moves."""
        data = ReadMarkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            state, _ = reads.read_mark(
                user=request.user, room_id=room_id, message_id=data.validated_data["message"]
            )
        except InvalidReadPointer as exc:
            raise ValidationError({"message": [exc.detail]}) from exc
        return Response(state.payload())


class DeliveredMarkView(APIView):
    @extend_schema(request=DeliveredMarkSerializer, responses={204: None})
    def post(self, request: Request, room_id: int) -> Response:
        """Acknowledge that the room's messages up to one reached your client (receipts'
        "delivered"; reading implies it). Only recorded in rooms of at most RECEIPTS_MAX_MEMBERS."""
        data = DeliveredMarkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            receipts.delivered_mark(
                user=request.user, room_id=room_id, message_id=data.validated_data["message"]
            )
        except InvalidDeliveredPointer as exc:
            raise ValidationError({"message": [exc.detail]}) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class TypingView(APIView):
    @extend_schema(request=TypingSerializer, responses={204: None})
    def post(self, request: Request, room_id: int) -> Response:
        """Tell the room you are typing (the WebSocket's ``typing.start``/``typing.stop``, for
        clients on the event stream): at most one start per 2 s counts; nothing is stored."""
        data = TypingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        typists.typing_announce(user=request.user, room_id=room_id, typing=data.validated_data["typing"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReceiptsView(APIView):
    @extend_schema(responses=ReceiptsSerializer)
    def get(self, request: Request, room_id: int) -> Response:
        """Receipts of one of your rooms: every other member's delivered and read pointers (small
        rooms), and how many have received and read the latest message."""
        return Response(receipts.room_receipts(user=request.user, room_id=room_id).payload())


class AttachmentUploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer, **errors(413, 429)},
    )
    def post(self, request: Request, room_id: int) -> Response:
        """Upload one file for your next message in this room (multipart, field ``file``), then
        send the message with its id in ``attachments``. The type is decided from the content;
        images are stored without their metadata, upright, with a thumbnail. Unsent uploads are
        yours alone, and are removed after UPLOAD_ABANDONED_HOURS (24 by default)."""
        data = AttachmentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            attachment = uploads.attachment_upload(
                uploader=request.user,
                room_id=room_id,
                upload=data.validated_data["file"],
                voice=data.validated_data["voice"],
                duration=data.validated_data.get("duration"),
            )
        except UploadTooLarge:
            raise
        except InvalidUpload as exc:
            raise ValidationError({exc.field or "file": [exc.detail]}) from exc
        summary = uploads.attachment_summary(attachment)
        return Response(attachment_payload(summary), status=status.HTTP_201_CREATED)


class AccountDeleteView(APIView):
    """Delete the caller's account, confirmed with its password: it leaves every room, its
    messages stay (from a "deleted user"), its tokens are revoked and its sockets close."""

    @extend_schema(request=PasswordConfirmSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = PasswordConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        accounts.account_delete(user=request.user, password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
