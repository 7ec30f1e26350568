"""Stars and plays: a signed-in user's marks on songs, albums and artists, and their listens."""
