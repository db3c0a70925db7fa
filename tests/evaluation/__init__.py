"""Tests of the `evaluation` package: the measurements behind `onrecord eval*`."""
