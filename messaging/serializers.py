"""Request validation and schema documentation for the messages API.

Responses are built by ``messaging.serialization.message_payload`` (the one shape shared with
WebSocket frames); ``MessageSerializer`` documents that shape for OpenAPI and a test keeps the
two in step.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from chatsite.api_fields import IdField
from chatsite.validation import ID_MAX
from messaging import reports
from messaging.models import MessageReport
from messaging.search import QUERY_MAX_LENGTH
from messaging.search_selectors import SEARCH_OFFSET_MAX, SEARCH_ORDERS, SEARCH_PAGE_MAX
from messaging.services import CLIENT_ID_MAX


class SenderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField(help_text='Their picture on this server, or "" (show initials).')


class ReplyPreviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sender = SenderSerializer(allow_null=True)
    excerpt = serializers.CharField(allow_blank=True, help_text="the start of its text, on one line")
    deleted = serializers.BooleanField(help_text="the answered message was deleted (or is gone)")


class ReactionSummarySerializer(serializers.Serializer):
    emoji = serializers.CharField()
    users = serializers.ListField(child=serializers.IntegerField(), help_text="who reacted, in order")
    names = serializers.ListField(child=serializers.CharField(), help_text="their names, for display")


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["image", "file", "voice"])
    name = serializers.CharField(help_text="sanitised; ends in the extension of the type found")
    content_type = serializers.CharField(help_text="decided from the content, not the name")
    size = serializers.IntegerField(min_value=0, help_text="bytes")
    width = serializers.IntegerField(allow_null=True, help_text="images: pixels, upright")
    height = serializers.IntegerField(allow_null=True)
    thumb_width = serializers.IntegerField(allow_null=True, help_text="images: the thumbnail's size")
    thumb_height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True, help_text="voice: seconds")
    url = serializers.CharField(help_text="download (members only; on S3 a redirect to a short-lived link)")
    thumbnail_url = serializers.CharField(allow_null=True, help_text="images: a WebP thumbnail")


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False)
    voice = serializers.BooleanField(
        required=False, default=False, help_text="a voice message: Opus audio in WebM or Ogg"
    )
    duration = serializers.FloatField(
        required=False, allow_null=True, help_text="voice in WebM: its length in seconds (Ogg is measured)"
    )


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField()
    sender = SenderSerializer(allow_null=True)
    body = serializers.CharField(allow_blank=True, help_text="the text as written; empty once deleted")
    body_html = serializers.CharField(
        allow_blank=True, help_text="the text rendered (safe Markdown subset, sanitised); empty once deleted"
    )
    created_at = serializers.DateTimeField()
    client_id = serializers.CharField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    reply_to = serializers.IntegerField(allow_null=True, help_text="the id of the message this one answers")
    reply_preview = ReplyPreviewSerializer(allow_null=True)
    reply_count = serializers.IntegerField(min_value=0)
    reactions = ReactionSummarySerializer(many=True)
    mentions = serializers.ListField(child=serializers.IntegerField(), help_text="ids of mentioned users")
    mentions_room = serializers.BooleanField(help_text="mentions @room")
    attachments = AttachmentSerializer(many=True)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    has_more = serializers.BooleanField()
    has_newer = serializers.BooleanField(required=False, help_text="with around: newer messages follow")


class MessageEditSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=settings.MESSAGE_MAX_LENGTH)


class ReactionToggleSerializer(serializers.Serializer):
    emoji = serializers.CharField(max_length=64, help_text="exactly one emoji")


class ReactionResultSerializer(serializers.Serializer):
    added = serializers.BooleanField(help_text="false: the reaction was there and was taken back")
    message = MessageSerializer()


class ThreadSerializer(serializers.Serializer):
    root = MessageSerializer()
    replies = MessageSerializer(many=True)


class RevisionSerializer(serializers.Serializer):
    body = serializers.CharField()
    written_at = serializers.DateTimeField()
    replaced_at = serializers.DateTimeField()


class MessageCreateSerializer(serializers.Serializer):
    # The rules messaging.services enforces for every interface, declared again here from the same
    # constants so that the schema states them: a body that is not blank once stripped, without
    # NUL, of at most MESSAGE_MAX_LENGTH characters once stripped (DRF's CharField strips and
    # refuses NUL); a client_id of at most CLIENT_ID_MAX characters, kept as sent.
    # With attachments the body may be left out or blank (the files need no caption).
    body = serializers.CharField(
        max_length=settings.MESSAGE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="the text; required unless the message carries attachments",
    )
    client_id = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=CLIENT_ID_MAX
    )
    reply_to = IdField(required=False, allow_null=True, min_value=1, max_value=ID_MAX)
    attachments = serializers.ListField(
        child=IdField(min_value=1, max_value=ID_MAX),
        required=False,
        max_length=settings.UPLOAD_MAX_PER_MESSAGE,
        help_text="ids of your uploads to this room not sent yet (POST /api/rooms/{id}/attachments/)",
    )

    def validate(self, data: dict) -> dict:
        if not data.get("attachments") and not data.get("body", "").strip():
            raise serializers.ValidationError({"body": ["A message needs text or attachments."]})
        return data


class HistoryQuerySerializer(serializers.Serializer):
    before = IdField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="only messages with id < before (newest first)",
    )
    after = IdField(
        required=False,
        min_value=0,
        max_value=ID_MAX,
        help_text="only messages with id > after (oldest first)",
    )
    around = IdField(
        required=False, min_value=1, max_value=ID_MAX, help_text="the page centred on this message id"
    )
    limit = IdField(required=False, min_value=1, max_value=100, default=50)


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=QUERY_MAX_LENGTH,
        trim_whitespace=False,  # a trailing space ends the last word: no prefix match
        help_text=(
            'words (stemmed), "exact phrase", -word, OR; the last word also matches as a prefix unless the'
            " query ends in a space; operators from:<username|me>, in:<room slug or name|@username for a DM>,"
            " has:link|file|image, is:mention, before:/after:/on:<YYYY-MM-DD>"
        ),
    )
    order = serializers.ChoiceField(choices=SEARCH_ORDERS, default="newest")
    limit = IdField(required=False, min_value=1, max_value=SEARCH_PAGE_MAX, default=20)
    offset = IdField(required=False, min_value=0, max_value=SEARCH_OFFSET_MAX, default=0)
    before = IdField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="newest first only: matches older than this message (the last page's next_before)",
    )


class SearchRoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="as the searcher sees it (a DM: the other people)")
    kind = serializers.ChoiceField(choices=["public", "private", "direct"])


class SearchResultSerializer(MessageSerializer):
    room_info = SearchRoomSerializer()
    highlight = serializers.CharField(
        allow_blank=True, help_text="HTML: a snippet of the text, escaped, with matching words in <mark>"
    )


class SearchPageSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    has_more = serializers.BooleanField()
    next_before = serializers.IntegerField(
        allow_null=True,
        help_text="newest first: pass as before for the next page (null: no more, or relevance)",
    )


class UnreadSerializer(serializers.Serializer):
    room = serializers.IntegerField()
    last_read = serializers.IntegerField(help_text="every message of the room up to this id is read")
    unread = serializers.IntegerField(
        min_value=0, help_text="messages of others after last_read, counted up to 100 (show 99+)"
    )
    unread_capped = serializers.BooleanField(help_text="the count stopped at 100: there may be more")
    mentions = serializers.IntegerField(min_value=0, help_text="of those, how many mention you or @room")


class ReadMarkSerializer(serializers.Serializer):
    message = IdField(
        min_value=1,
        max_value=ID_MAX,
        help_text="read up to this message id (a pointer never moves back; past the newest is refused)",
    )


class TypingSerializer(serializers.Serializer):
    typing = serializers.BooleanField(
        help_text="true: started typing (repeat every few seconds); false: stopped"
    )


class DeliveredMarkSerializer(serializers.Serializer):
    message = IdField(
        min_value=1,
        max_value=ID_MAX,
        help_text="messages up to this id reached your client (never moves back; past the newest is refused)",
    )


class ReceiptPointerSerializer(serializers.Serializer):
    room = serializers.IntegerField()
    user = serializers.DictField(help_text="id, username, display_name")
    delivered = serializers.IntegerField(help_text="every message up to this id reached a socket of theirs")
    read = serializers.IntegerField(
        allow_null=True, help_text="read up to this id; null: they do not send read receipts"
    )


class ReceiptsSerializer(serializers.Serializer):
    room = serializers.IntegerField()
    latest = serializers.IntegerField(help_text="the room's newest message (0: none)")
    latest_sender = serializers.IntegerField(allow_null=True)
    pointers = ReceiptPointerSerializer(
        many=True,
        allow_null=True,
        help_text="every other member's pointers, in rooms of at most RECEIPTS_MAX_MEMBERS (else null)",
    )
    delivered = serializers.IntegerField(help_text="members but its sender whom the latest message reached")
    seen = serializers.IntegerField(help_text="members but its sender who read the latest message")


class ReportCreateSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=MessageReport.Reason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=reports.NOTE_MAX)


class ReportReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=MessageReport.Reason.choices)
    created = serializers.BooleanField(help_text="false: you had reported this message already")
