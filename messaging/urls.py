from django.urls import path

from messaging import views

urlpatterns = [
    path("", views.home, name="home"),
    path("r/<int:room_id>/", views.room, name="room"),
    path("r/<int:room_id>/history/", views.history, name="room-history"),
    path("r/<int:room_id>/send/", views.send, name="room-send"),
]
