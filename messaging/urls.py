from django.urls import path

from chatsite import converters  # noqa: F401  (registers <id:...>)
from messaging import views

urlpatterns = [
    path("", views.home, name="home"),
    path("r/<id:room_id>/", views.room, name="room"),
    path("r/<id:room_id>/history/", views.history, name="room-history"),
    path("r/<id:room_id>/send/", views.send, name="room-send"),
]
