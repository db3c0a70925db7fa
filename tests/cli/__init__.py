"""Tests of the `cli` package: the `onrecord` console script and its terminal rendering."""
