"""Entry point of the prediction API container: `uvicorn main:app`. Everything else is in fraudlake.api."""

from fraudlake.api import create_app

app = create_app()
