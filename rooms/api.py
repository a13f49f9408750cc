"""REST endpoints for rooms, memberships and DMs: thin over rooms.services/selectors."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatsite.api_errors import errors
from rooms import moderation, selectors, services
from rooms.models import Room
from rooms.serializers import (
    DirectSerializer,
    MemberAddSerializer,
    MemberSerializer,
    MemberStateSerializer,
    ModerationLogEntrySerializer,
    MuteSerializer,
    NotifySerializer,
    PresenceQuerySerializer,
    PresenceSerializer,
    RoleSerializer,
    RoomCreateSerializer,
    RoomListQuerySerializer,
    RoomModerateSerializer,
    RoomSerializer,
    RoomUpdateSerializer,
    TransferSerializer,
)


class RoomPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema_view(get=extend_schema(parameters=[RoomListQuerySerializer]))
class RoomListView(generics.ListAPIView):
    """My rooms and DMs, most recent activity first; or, with ``?public=1``, public rooms by name."""

    serializer_class = RoomSerializer
    pagination_class = RoomPagination

    def get_queryset(self) -> QuerySet[Room]:
        query = RoomListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["public"]:
            return selectors.public_rooms(search=query.validated_data["search"])
        return selectors.rooms_for_user(user=self.request.user)

    @extend_schema(request=RoomCreateSerializer, responses={201: RoomSerializer})
    def post(self, request: Request) -> Response:
        data = RoomCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = services.room_create(creator=request.user, **data.validated_data)
        room.member_count = 1
        return Response(RoomSerializer(room).data, status=status.HTTP_201_CREATED)


class RoomDetailView(APIView):
    @extend_schema(responses=RoomSerializer)
    def get(self, request: Request, room_id: int) -> Response:
        room = selectors.room_detail(user=request.user, room_id=room_id)
        return Response(RoomSerializer(room).data)

    @extend_schema(request=RoomUpdateSerializer, responses=RoomSerializer)
    def patch(self, request: Request, room_id: int) -> Response:
        """Change the room's name, topic or description (owners and admins); members hear
        ``room.updated``."""
        data = RoomUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.room_update(actor=request.user, room_id=room_id, **data.validated_data)
        return Response(RoomSerializer(selectors.room_detail(user=request.user, room_id=room_id)).data)


class RoomJoinView(APIView):
    @extend_schema(request=None, responses=RoomSerializer)
    def post(self, request: Request, room_id: int) -> Response:
        services.room_join(user=request.user, room_id=room_id)
        return Response(RoomSerializer(selectors.room_detail(user=request.user, room_id=room_id)).data)


class RoomLeaveView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, room_id: int) -> Response:
        services.room_leave(user=request.user, room_id=room_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListView(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, room_id: int) -> Response:
        members = selectors.room_members(user=request.user, room_id=room_id)
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(request=MemberAddSerializer, responses={201: MemberSerializer})
    def post(self, request: Request, room_id: int) -> Response:
        data = MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_add(
            actor=request.user, room_id=room_id, username=data.validated_data["username"]
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


def _member_state(*, user: object, room_id: int, user_id: int) -> dict:
    membership = selectors.room_members(user=user, room_id=room_id).get(user_id=user_id)
    membership.mute = selectors.mute_active(room_id=room_id, user_id=user_id)
    return MemberStateSerializer(membership).data


class MemberDetailView(APIView):
    # 400 when the user is not a member of the room.
    @extend_schema(responses={204: None, **errors(400)})
    def delete(self, request: Request, room_id: int, user_id: int) -> Response:
        services.member_remove(actor=request.user, room_id=room_id, user_id=user_id, via="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RoleSerializer, responses=MemberStateSerializer)
    def patch(self, request: Request, room_id: int, user_id: int) -> Response:
        """Make a member an admin or an admin a member (the room's owners); members hear
        ``member.updated``."""
        data = RoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moderation.member_role_set(
            actor=request.user, room_id=room_id, user_id=user_id, role=data.validated_data["role"], via="api"
        )
        return Response(_member_state(user=request.user, room_id=room_id, user_id=user_id))


class MemberMuteView(APIView):
    @extend_schema(request=MuteSerializer, responses=MemberStateSerializer)
    def post(self, request: Request, room_id: int, user_id: int) -> Response:
        """Mute a member for ``minutes`` (owners and admins; admins only members): they read but
        cannot post, react or edit (``muted``) until it ends. Members hear ``member.updated``."""
        data = MuteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moderation.member_mute(
            actor=request.user, room_id=room_id, user_id=user_id, via="api", **data.validated_data
        )
        return Response(_member_state(user=request.user, room_id=room_id, user_id=user_id))

    # 400 when the user is not a member of the room.
    @extend_schema(request=None, responses={204: None, **errors(400)})
    def delete(self, request: Request, room_id: int, user_id: int) -> Response:
        """Lift a member's mute."""
        moderation.member_unmute(actor=request.user, room_id=room_id, user_id=user_id, via="api")
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomTransferView(APIView):
    @extend_schema(request=TransferSerializer, responses=RoomSerializer)
    def post(self, request: Request, room_id: int) -> Response:
        """Hand the room to another member (its owner only): they become owner, you an admin."""
        data = TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moderation.room_transfer(
            actor=request.user, room_id=room_id, user_id=data.validated_data["user"], via="api"
        )
        return Response(RoomSerializer(selectors.room_detail(user=request.user, room_id=room_id)).data)


class RoomModerateView(APIView):
    @extend_schema(request=RoomModerateSerializer, responses=RoomSerializer)
    def post(self, request: Request, room_id: int) -> Response:
        """Make the room read-only (only owners and admins post) or archive it (owners; nobody
        posts). Members hear ``room.updated``."""
        data = RoomModerateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moderation.room_moderate(actor=request.user, room_id=room_id, via="api", **data.validated_data)
        return Response(RoomSerializer(selectors.room_detail(user=request.user, room_id=room_id)).data)


class RoomModerationLogView(APIView):
    # 403 for members who are not owners or admins (everyone else: 404).
    @extend_schema(responses={200: ModerationLogEntrySerializer(many=True), **errors(403)})
    def get(self, request: Request, room_id: int) -> Response:
        """The room's moderation log, newest first (its 100 latest entries): owners and admins."""
        entries = selectors.room_moderation_log(user=request.user, room_id=room_id)
        return Response(ModerationLogEntrySerializer(entries, many=True).data)


class DirectView(APIView):
    @extend_schema(request=DirectSerializer, responses={200: RoomSerializer, 201: RoomSerializer})
    def post(self, request: Request) -> Response:
        data = DirectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room, created = services.dm_open(user=request.user, usernames=data.validated_data["usernames"])
        room = selectors.room_detail(user=request.user, room_id=room.id)
        return Response(
            RoomSerializer(room).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PresenceView(APIView):
    @extend_schema(parameters=[PresenceQuerySerializer], responses=PresenceSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Presence of users who share a room or DM with you (others are left out, as if unknown):
        online while a socket of theirs is open and in use on any server process, away while
        every one is hidden or idle, offline otherwise (also when they chose to appear offline:
        their last seen is then the moment they chose it)."""
        query = PresenceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        visible = selectors.users_sharing_a_room(user=request.user, user_ids=query.validated_data["users"])
        states = selectors.presence_states(user_ids=sorted(visible))
        return Response(
            [
                {"user": user_id, "state": state.state, "last_seen": state.last_seen}
                for user_id, state in states.items()
            ]
        )


class NotifyView(APIView):
    """What you are notified of in one of your rooms or DMs (browser notifications now; stored
    per membership for web push later)."""

    @extend_schema(responses=NotifySerializer)
    def get(self, request: Request, room_id: int) -> Response:
        membership = selectors.membership_get(user=request.user, room_id=room_id)
        return Response({"level": membership.notify})

    @extend_schema(request=NotifySerializer, responses=NotifySerializer)
    def put(self, request: Request, room_id: int) -> Response:
        data = NotifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_notify_set(
            user=request.user, room_id=room_id, level=data.validated_data["level"]
        )
        return Response({"level": membership.notify})
