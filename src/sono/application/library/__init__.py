"""The library derived from tags: artists, albums, genres, songs and search, per caller."""
