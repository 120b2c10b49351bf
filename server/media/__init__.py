"""Media: the server's selective forwarding unit behind a narrow port (see ``port.py``)."""
