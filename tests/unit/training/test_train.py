"""make train: the refit equals the shipped artifact byte for byte, the run-time scorer equals the
scikit-learn pipeline, and docs/MODEL_CARD.md is exactly its render (lending policy included)."""

from __future__ import annotations

from training_test_support import refitted_run

from chalicelib.engine.artifact import ARTIFACT_PATH, build_model, load_model
from chalicelib.engine.scorecard import probability_of
from training.model_card import FOIR_LIMIT, FOIR_REVIEW, POLICY, RATE_CARD


def test_plain_python_equals_the_sklearn_pipeline_on_every_row() -> None:
    from training.scorecard_fit import build_pipeline

    run = refitted_run()
    applications = run.data.applications
    expected = build_pipeline(run.scorecard).predict_proba(applications)[:, 1]
    model = load_model()
    worst = max(abs(probability_of(model, a) - float(p)) for a, p in zip(applications, expected, strict=True))
    assert worst <= 1e-9


def test_retraining_rebuilds_the_shipped_artifact_byte_for_byte() -> None:
    """Same data + the recorded selection -> the committed artifact's exact bytes (determinism)."""
    from training.export import artifact_bytes

    assert artifact_bytes(refitted_run().document) == ARTIFACT_PATH.read_bytes()


def test_the_model_card_is_its_render_and_states_the_lending_policy() -> None:
    from chalicelib.engine import decide
    from training.model_card import MODEL_CARD_PATH, render_model_card

    run = refitted_run()
    model = build_model(run.document)
    card = render_model_card(run, model, lambda application: decide(application, model, POLICY))
    assert MODEL_CARD_PATH.read_text(encoding="utf-8") == card
    assert f"{FOIR_LIMIT:.0%}" in card and f"{FOIR_REVIEW:.0%}" in card
    for rate in RATE_CARD.values():
        assert f"{rate:.0%}" in card
