"""Default texts a participant reads before the first video (each study can set its own)."""

DEFAULT_LISTENING_NOTE = "Please use headphones and listen in a quiet place."
DEFAULT_CONSENT = ("Taking part is voluntary. We store your answers and whether you have had musical training, "
                   "under a random code and nothing else about you. You can stop at any time.")
