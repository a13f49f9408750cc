from django.urls import path

from rooms import api

urlpatterns = [
    path("rooms/", api.RoomListView.as_view(), name="api-rooms"),
    path("rooms/<int:room_id>/", api.RoomDetailView.as_view(), name="api-room"),
    path("rooms/<int:room_id>/join/", api.RoomJoinView.as_view(), name="api-room-join"),
    path("rooms/<int:room_id>/leave/", api.RoomLeaveView.as_view(), name="api-room-leave"),
    path("rooms/<int:room_id>/members/", api.MemberListView.as_view(), name="api-room-members"),
    path(
        "rooms/<int:room_id>/members/<int:user_id>/", api.MemberDetailView.as_view(), name="api-room-member"
    ),
    path("dms/", api.DirectView.as_view(), name="api-dms"),
]
