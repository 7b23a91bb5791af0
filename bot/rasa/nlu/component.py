"""What the project's NLU components share: Rasa's ``create`` and what it hands them.

Rasa builds a component with ``create`` for training and, unless the component overrides
``load``, for a trained model too (``GraphComponent.load`` calls ``create``). Every component
here keeps its config, the model storage and its resource, so ``create`` is written once.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


class Component(GraphComponent):
    """A graph component made from its config, model storage and resource."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options."""
        return {}

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
    ) -> None:
        """Keep the config, and where to persist (for a component that trains)."""
        self._config = dict(config or {})
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> Component:
        """Create the component (Rasa's other inputs are not needed)."""
        return cls(config, model_storage, resource)
