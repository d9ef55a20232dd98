"""The decision version every decision is made with: today the packaged one (the shipped model
artifact and lending-policy version 1), read and checked once, when the service layer is imported
(Lambda's init phase), not on the first request. ``engine.decide`` takes it as arguments."""

from __future__ import annotations

from chalicelib import engine

PACKAGED: engine.DecisionLogic = engine.packaged_version()
