from django.urls import path

from chatsite import converters  # noqa: F401  (registers <id:...>)
from rooms import account_api, api

urlpatterns = [
    path("rooms/", api.RoomListView.as_view(), name="api-rooms"),
    path("rooms/<id:room_id>/", api.RoomDetailView.as_view(), name="api-room"),
    path("rooms/<id:room_id>/join/", api.RoomJoinView.as_view(), name="api-room-join"),
    path("rooms/<id:room_id>/leave/", api.RoomLeaveView.as_view(), name="api-room-leave"),
    path("rooms/<id:room_id>/members/", api.MemberListView.as_view(), name="api-room-members"),
    path("rooms/<id:room_id>/members/<id:user_id>/", api.MemberDetailView.as_view(), name="api-room-member"),
    path("rooms/<id:room_id>/notifications/", api.NotifyView.as_view(), name="api-room-notifications"),
    path(
        "rooms/<id:room_id>/members/<id:user_id>/mute/",
        api.MemberMuteView.as_view(),
        name="api-room-member-mute",
    ),
    path("rooms/<id:room_id>/transfer/", api.RoomTransferView.as_view(), name="api-room-transfer"),
    path("rooms/<id:room_id>/moderate/", api.RoomModerateView.as_view(), name="api-room-moderate"),
    path(
        "rooms/<id:room_id>/moderation-log/",
        api.RoomModerationLogView.as_view(),
        name="api-room-moderation-log",
    ),
    path("dms/", api.DirectView.as_view(), name="api-dms"),
    path("presence/", api.PresenceView.as_view(), name="api-presence"),
    path("auth/register/", account_api.RegisterView.as_view(), name="api-register"),
]
