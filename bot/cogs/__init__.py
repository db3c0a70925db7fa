"""One cog per file; `bot.app.COGS` lists them."""
