"""Tests of the `bot` package (the Discord front end) that need no stand-in server."""
