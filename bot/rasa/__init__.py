"""The Rasa edge: every module that imports rasa or sanic lives here (docs/architecture.md).

Input channels, NLU components, tracker and lock stores, the patches and the server entry
point. The product underneath (bot/ outside this package) never imports Rasa.
"""
