from django.urls import path

from messaging import api

urlpatterns = [
    path("rooms/<int:room_id>/messages/", api.MessageListView.as_view(), name="api-messages"),
]
