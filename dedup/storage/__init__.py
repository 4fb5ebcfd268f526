"""The SQLite database, the LSH index of topic centres, model files."""
