"""Log masking: phone-number-like digit runs are masked in what the log handlers write."""

from __future__ import annotations

import logging

from bot.pseudonyms import mask_numbers


class MaskingFilter(logging.Filter):
    """Masks phone-number-like digit runs in every record passing a handler."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003
        """Format the message once, mask it, and keep the record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a broken format string must not lose the record)
            message = str(record.msg)
        record.msg = mask_numbers(message)
        record.args = None
        # Tracebacks quote values too: format them now, masked (formatters reuse exc_text).
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_numbers(record.stack_info)
        return True


_FILTER = MaskingFilter()


def install_log_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Mask numbers in everything the handlers of ``logger`` (default: root) write.

    Call it after configuring logging: filters on handlers see records from every logger,
    including libraries'. Idempotent.
    """
    target = logger or logging.getLogger()
    if target is logging.getLogger() and not target.handlers:
        logging.basicConfig()
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER


def install_log_masking_everywhere() -> MaskingFilter:
    """Mask numbers in the handlers of every logger configured so far (root, Rasa, Sanic...).

    For server processes, whose frameworks attach handlers to their own loggers: call it
    once logging is configured (for a web server, when it starts). Idempotent.
    """
    install_log_masking()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            install_log_masking(logger)
    return _FILTER
