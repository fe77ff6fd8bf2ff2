"""Pure renderers: rows and stored JSON -> response bodies and text views. No I/O, no aiohttp."""
