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
from messaging.services import CLIENT_ID_MAX


class SenderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField()
    sender = SenderSerializer(allow_null=True)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    client_id = serializers.CharField()
    edited_at = serializers.DateTimeField(allow_null=True)
    reply_to = serializers.IntegerField(allow_null=True)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    has_more = serializers.BooleanField()


class MessageCreateSerializer(serializers.Serializer):
    # The rules messaging.services enforces for every interface, declared again here from the same
    # constants so that the schema states them: a body that is not blank once stripped, without
    # NUL, of at most MESSAGE_MAX_LENGTH characters once stripped (DRF's CharField strips and
    # refuses NUL); a client_id of at most CLIENT_ID_MAX characters, kept as sent.
    body = serializers.CharField(max_length=settings.MESSAGE_MAX_LENGTH)
    client_id = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=CLIENT_ID_MAX
    )


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
    limit = IdField(required=False, min_value=1, max_value=100, default=50)
