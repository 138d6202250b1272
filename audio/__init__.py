"""Audio in: decoding, G.711, resampling, channel mapping, framing and voice activity."""
