"""Offline training, evaluation and model-card generation (dev-only: uses scikit-learn and numpy)."""
