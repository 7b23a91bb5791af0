"""Every turn of Rasa 3.6 ends listening, so the next message is answered (issue 16).

Rasa OSS 3.6 is frozen, so the fix lives here, installed by our channels like
``bot.rasa.patches``. Two behaviours of stock Rasa made one failed turn silence
every later turn of the person:

* When a custom action fails (action server killed, timeout, crash),
  ``MessageProcessor._run_action`` logs "Encountered an exception while running action",
  drops the action's events and lets the policies predict again. Without those events
  (the slot, the response) the policies go round in circles (``action_fallback`` nine
  times here) until the circuit breaker stops the turn after 10 actions.
* A turn stopped by the circuit breaker ends without ``action_listen``. The next turn's
  limit check (``is_action_limit_reached``) counts every action since the last
  ``action_listen``, i.e. the 10 of the failed turn too, so it trips at once: no action, no
  reply, for every later message of that person until the session expires.

Here a failed custom action ends its turn (the person gets the apology:
bot/channels/action_errors.py), and a turn that stopped without listening (a failure, or
the circuit breaker for any other reason) ends with ``action_listen`` logged, as a turn
that ends normally does. A paused conversation is left as Rasa leaves it.

``install()`` is idempotent and called when ``bot.rasa.common`` is imported. No
Rasa import at module level.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.rasa.patches import Once

log = logging.getLogger(__name__)


def _patch_failed_action_ends_the_turn() -> None:
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.core.processor import MessageProcessor

    stock = MessageProcessor._run_action

    async def _run_action(
        self: MessageProcessor,
        action: Any,
        tracker: Any,
        output_channel: Any,
        nlg: Any,
        prediction: Any,
    ) -> bool:
        # Rasa's own _run_action (it logs the failure and the action, without its events);
        # only whether the action raised is noted, to stop predicting after it.
        failed: list[BaseException] = []
        run = action.run

        async def noting_run(*args: Any, **kwargs: Any) -> Any:
            try:
                return await run(*args, **kwargs)
            except ActionExecutionRejection:
                raise  # a rejection is Rasa's ordinary flow (forms): not a failure
            except Exception as exc:
                failed.append(exc)
                raise

        action.run = noting_run  # a fresh instance per prediction (action_for_index)
        try:
            predict_another = await stock(self, action, tracker, output_channel, nlg, prediction)
        finally:
            del action.run
        if failed and predict_another:
            log.warning(
                "action %s failed: the turn of %s ends here", action.name(), tracker.sender_id
            )
            return False
        return predict_another

    _run_action.__doc__ = stock.__doc__
    MessageProcessor._run_action = _run_action  # type: ignore[method-assign]


def _patch_turn_ends_listening() -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted

    stock = MessageProcessor._run_prediction_loop

    async def _run_prediction_loop(
        self: MessageProcessor, output_channel: Any, tracker: Any
    ) -> None:
        await stock(self, output_channel, tracker)
        # Rasa's loop ends after action_listen (or a session start) unless an action failed
        # (above), the circuit breaker tripped, or the conversation was paused.
        if self._should_handle_message(tracker) and self.should_predict_another_action(
            tracker.latest_action_name
        ):
            log.warning(
                "the turn of %s stopped after %s: listening for the next message",
                tracker.sender_id,
                tracker.latest_action_name,
            )
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))

    _run_prediction_loop.__doc__ = stock.__doc__
    MessageProcessor._run_prediction_loop = _run_prediction_loop  # type: ignore[method-assign]


_once = Once("turn fix")


def install() -> None:
    """Apply the fixes once per process; a failure is logged and leaves Rasa as it is."""
    _once(_patch_failed_action_ends_the_turn, _patch_turn_ends_listening)
