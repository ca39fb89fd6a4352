"""Command-line tools of the course (see the README); the tests import them as ``scripts.<name>``."""
