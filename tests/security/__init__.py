"""Attacks on rlskit's promises, each against real servers and files (issue 12)."""
