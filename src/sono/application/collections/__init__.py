"""Collections: albums, playlists and compilations, their tracks and collaborators."""
