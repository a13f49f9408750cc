from django.urls import path

from chatsite import converters  # noqa: F401  (registers <id:...>)
from rooms import account_views, views

urlpatterns = [
    path("rooms/sidebar/", views.sidebar, name="sidebar"),
    path("rooms/new/", views.room_new, name="room-new"),
    path("rooms/browse/", views.browse, name="room-browse"),
    path("rooms/<id:room_id>/join/", views.join, name="room-join"),
    path("rooms/<id:room_id>/leave/", views.leave, name="room-leave"),
    path("rooms/<id:room_id>/members/", views.members, name="room-members"),
    path("rooms/<id:room_id>/notifications/", views.notifications, name="room-notifications"),
    path("rooms/<id:room_id>/settings/", views.room_settings, name="room-settings"),
    path("rooms/<id:room_id>/moderate/", views.room_moderate, name="room-moderate"),
    path("rooms/<id:room_id>/members/<id:user_id>/block/", views.member_block, name="room-member-block"),
    path(
        "rooms/<id:room_id>/members/<id:user_id>/moderate/",
        views.member_moderate,
        name="room-member-moderate",
    ),
    path("rooms/<id:room_id>/invite-search/", views.invite_search, name="room-invite-search"),
    path("dm/new/", views.dm_new, name="dm-new"),
    path("dm/search/", views.dm_search, name="dm-search"),
    path("register/", account_views.register, name="register"),
]
