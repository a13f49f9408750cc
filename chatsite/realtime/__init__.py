"""Parley's real-time infrastructure: the event log, the registry of event kinds, publication
to every server process, and the per-process hub that delivers to local sockets.

It is the lowest layer that knows about events: ``accounts``, ``rooms`` and ``messaging`` import
it, it imports none of them. It knows rooms and users only as ids (an event's stream is a room
id; its subject a user), so what an event *means* stays with the app that records it, and what
it *is* (stored or ephemeral, who hears it, how it renders) is declared once, in ``kinds``.
"""
