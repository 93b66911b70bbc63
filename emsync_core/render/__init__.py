"""MIDI -> audio (FluidSynth), mastering (pedalboard), loudness, mux with the video."""
