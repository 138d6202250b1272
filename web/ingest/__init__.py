"""Live call audio in from phone platforms, sans I/O: one parser (and one test encoder) per wire protocol.

Each parser is a plain class fed the bytes or text a connection delivered and returning the typed events of
:mod:`callcoach.web.ingest.types`; no sockets, no asyncio, no clock. The asyncio endpoints wrap them.

- :mod:`~callcoach.web.ingest.twilio`: Twilio Media Streams (JSON text messages, base64 mu-law).
- :mod:`~callcoach.web.ingest.audiofork`: FreeSWITCH mod_audio_fork (JSON metadata, then binary L16 PCM).
- :mod:`~callcoach.web.ingest.audiosocket`: Asterisk AudioSocket (TCP, type-length-value frames).
"""
