"""The data producer: load Kaggle-format files into PostgreSQL, stream them, generate them."""
