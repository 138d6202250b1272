"""Call sessions, the streaming pipeline, transcription, settings and the command line."""
