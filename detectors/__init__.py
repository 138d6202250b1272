"""Event detectors: plain classes fed typed events in audio time, returning alerts."""
