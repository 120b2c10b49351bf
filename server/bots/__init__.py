"""Synthetic participants and synthetic media, for demos, load tests and the benchmarks.

They are clients of the server, not part of it: a bot speaks Socket.IO and WebRTC to a running
server like a browser would. ``synthetic`` encodes a test pattern and a tone once;
``client.MediaClient`` is an aiortc peer that answers the server's offers; ``bot`` drives
bots over Socket.IO (``circle bots``); ``demo`` runs ``circle bots`` beside ``circle serve
--demo-bots N``. The live media path (``server/media/``) never imports this package.
"""
