"""Tests for the trust API."""
