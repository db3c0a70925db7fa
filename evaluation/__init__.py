"""Measurements of the library, run by ``onrecord eval*``: consumers of `index`, not part of it.

`answers` (``onrecord eval``: do the quotes hold the answer, beside baselines; abstention calibration),
`speakers` (``onrecord eval-speakers``: is a quotation's speaker named right) and `extraction`
(``onrecord eval-extraction``: how much of a web page's body the HTML loader keeps). They use the library
through its modules as the bot does and never import `bot`, `cli` or discord.
"""
