"""Speed-ups of stock Rasa 3.6 code (per turn, and memory), installed by our channels.

Rasa OSS 3.6 is frozen, so the fix lives here. Each patch keeps Rasa's behaviour exactly
(same checks, same errors); only repeated, constant work is done once.

* ``RemoteAction._validate_action_result`` calls ``jsonschema.validate(result, spec)`` for
  every custom action the server runs (``action_validate_slot_mappings`` after every
  message, then the turn's own actions). ``jsonschema.validate`` first re-checks the
  constant ``spec`` against the JSON Schema 2020-12 meta-schema, which costs 10-25 ms of
  CPU in the event loop each time (measured with py-spy: about 60 % of the Rasa server's
  main thread in the load benchmark; bench/results/load.json). Here the spec is checked
  once and its validator reused: the same ``best_match`` error is raised for an invalid
  action server answer, with Rasa's message appended as before.

* ``RasaModel.load`` (DIET here) builds the model's variables by fitting it on one example
  before loading the trained weights over them. Keras traces that training step into a
  graph (gradients, optimizer) kept for the life of the process: about 360 MB of the
  server's 1.4 GB resident memory, for a function never called again when serving. Here
  that one-example fit runs eagerly (no graph); the weights loaded afterwards, the
  ``run_eagerly`` setting used for predictions and therefore every prediction are the
  same as before (checked on the benchmark's messages: identical intents, entities and
  confidences). Fine-tuning (``rasa train --finetune``) keeps Rasa's own code.

``install()`` is idempotent and called when ``bot.rasa.common`` is imported, i.e.
whenever credentials.yml loads one of our channels. No Rasa import at module level.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _action_result_validator() -> Any:
    """A validator for Rasa's action server answer format, its schema checked once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    cls.check_schema(spec)  # what jsonschema.validate does on every call
    return cls(spec)


def _patch_action_result_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    validator = _action_result_validator()

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        # As rasa.core.actions.action.RemoteAction._validate_action_result (Rasa 3.6.21),
        # with jsonschema.validate's per-call meta-schema check done once above.
        try:
            error = best_match(validator.iter_errors(result))
            if error is not None:
                raise error
            return True
        except ValidationError as e:
            e.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise e

    _validate_action_result.__doc__ = RemoteAction._validate_action_result.__doc__
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def _patch_model_loading() -> None:
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    stock = RasaModel.load.__func__  # type: ignore[attr-defined]

    def load(
        cls: type[RasaModel],
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode:
            return stock(  # type: ignore[no-any-return]
                cls,
                model_file_name,
                model_data_example,
                predict_data_example,
                finetune_mode,
                *args,
                **kwargs,
            )
        # As rasa.utils.tensorflow.models.RasaModel.load (Rasa 3.6.21) without fine-tuning,
        # except that the fit building the variables runs eagerly.
        model = cls(*args, **kwargs)
        learning_rate = kwargs.get("config", {}).get(LEARNING_RATE, 0.001)
        run_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=True)
        model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
        # Predictions read this flag (RasaModel._rasa_predict): back to the configured value.
        model.run_eagerly = run_eagerly
        model.load_weights(model_file_name)
        if predict_data_example:
            model.run_inference(predict_data_example)
        return model

    load.__doc__ = stock.__doc__
    RasaModel.load = classmethod(load)  # type: ignore[method-assign,assignment]


def _patch_tracker_engine() -> None:
    """Rasa's SQL tracker store (the dev profile's) creates its engine with the bound values
    shown in database errors, which then log people's messages: hide them (docs/privacy.md).
    """
    from rasa.core import tracker_store

    original = tracker_store.create_engine_kwargs

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        return {**original(url), "hide_parameters": True}

    tracker_store.create_engine_kwargs = create_engine_kwargs


class Once:
    """Applies a module's patches once per process (thread-safe); a patch that fails is
    logged and leaves that part of Rasa as it is: a patch must never stop the server."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._done = False
        self._lock = threading.Lock()

    def __call__(self, *patches: Callable[[], None]) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            for patch in patches:
                try:
                    patch()
                except Exception:  # noqa: BLE001
                    log.exception(
                        "Rasa %s %s failed; Rasa left as it is", self.what, patch.__name__
                    )


_once = Once("speed-up")


def install() -> None:
    """Apply the patches once per process; a failure is logged and leaves Rasa as it is."""
    _once(_patch_action_result_validation, _patch_model_loading, _patch_tracker_engine)
