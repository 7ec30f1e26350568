"""What a player's entrypoint (the Subsonic API) asks about accounts: the caller's own account, a
user's account (themselves, or anyone for an admin), and a user's profile picture."""
