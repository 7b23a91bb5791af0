"""Rasa NLU components: thin adapters over bot.language and bot.nlu.vocabulary."""
