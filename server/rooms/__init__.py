"""Live rooms: one owner task per live session (room.py) taking typed commands (commands.py),
with its media link (media_link.py), timers, admission (the join window from server.lifecycle,
the group agreement, places), the role -> capability table, persistence (store.py, fenced by
the room's lease) and the manager that owns every room of this process. Rooms talk through the
narrow ports in ports.py; they never see Socket.IO, aiortc or the scheduler."""
