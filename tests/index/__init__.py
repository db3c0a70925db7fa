"""Tests of the `index` library, one file per module."""
