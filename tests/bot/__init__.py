"""Tests of the `bot` package and the `onrecord` CLI."""
