"""EMSYNC Archive core library: plain Python + torch, no Beam, Ray or HTTP (see ARCHITECTURE.md)."""

__version__ = "0.1.0"
