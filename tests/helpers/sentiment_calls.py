"""Synthesised calls for the sentiment tests: a customer who is angry early and thankful at the end, and
one who dips and stays negative. Each is a script for ``tests/helpers/synth.py`` (espeak-ng, sox; stereo
16 kHz, agent left, customer right), rendered into a folder the test gives (never committed).
"""

from __future__ import annotations

from tests.helpers.synth import Turns

# The agent's lines are kept short: every second is Vosk's time in the tests.
TURNED_AROUND: Turns = [
    ("customer", "I am really fed up, it is a complete mess and frankly unacceptable.", 0.0),
    ("agent", "Let me fix that for you now.", 0.8),
    ("customer", "I'm so angry, you people keep getting it wrong every single month.", 0.8),
    ("agent", "Done, I have removed the charge.", 0.8),
    ("customer", "Oh wow, thank you so much. You have been really helpful, I appreciate it.", 0.8),
]
STAYS_NEGATIVE: Turns = [
    ("customer", "I'm furious. You cut off my gas without any warning and it is freezing.", 0.0),
    ("agent", "I can't reconnect it until the balance is paid.", 0.8),
    ("customer", "That's terrible. This is the worst service I have ever had, I am disgusted.", 0.8),
    ("agent", "Anything else?", 0.8),
    ("customer", "No. Thanks for nothing.", 0.8),
]
