"""Reading exports and writing the files a run produces."""
