"""Local fakes of the messaging platforms' APIs (loopback only), recording what the bot sends."""
