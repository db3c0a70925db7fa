"""The ``onrecord`` console script (`main`) and its terminal rendering (`terminal`).

It drives `index` (build, ask, sources), `evaluation` (the ``eval*`` commands) and, for ``onrecord run``,
starts the Discord bot (`bot`, imported only by that command).
"""
