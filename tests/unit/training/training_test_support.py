"""Shared helpers for the training tests: the project paths."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[3]
TRAINING_CSV = PROJECT_DIR / "data" / "loan_applications.csv"
