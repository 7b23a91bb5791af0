"""WhatsApp (Twilio) and Telegram channels: authenticated, exactly once, ordered per person."""
