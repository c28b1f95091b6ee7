"""Imported first by the training fork server, never by the app: it lowers the priority of the
fork server, and so of every training worker it forks, so that the web server's page runs win
the CPU over trainings (and the fork server's one-time torch import does not slow the page that
started it)."""

import os

NICE = 10

try:
    os.nice(NICE)
except (AttributeError, OSError):  # not on this platform: trainings keep the normal priority
    pass
