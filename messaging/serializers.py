"""Request validation and schema documentation for the messages API.

Responses are built by ``messaging.serialization.message_payload`` (the one shape shared with
WebSocket frames); ``MessageSerializer`` documents that shape for OpenAPI and a test keeps the
two in step.
"""

from __future__ import annotations

from rest_framework import serializers

from chatsite.converters import ID_MAX


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
    # Length and content rules live in messaging.services (one place for every interface);
    # this only bounds what is parsed.
    body = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=20_000)
    client_id = serializers.CharField(required=False, allow_blank=True, max_length=200)


class HistoryQuerySerializer(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    after = serializers.IntegerField(required=False, min_value=0, max_value=ID_MAX)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)
