"""Speed-ups of stock Rasa 3.6 code that runs on every turn, installed by our channels.

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

``install()`` is idempotent and called when ``bot.channels.rasa_common`` is imported, i.e.
whenever credentials.yml loads one of our channels. No Rasa import at module level.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

_installed = False
_lock = threading.Lock()


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


def install() -> None:
    """Apply the patches once per process; a failure is logged and leaves Rasa as it is."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        try:
            _patch_action_result_validation()
        except Exception:  # noqa: BLE001 (a speed-up must never stop the server)
            log.exception("could not speed up Rasa's action result validation; left as is")
