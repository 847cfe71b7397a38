"""Where predictions are made: the Backend interface, Replicate's API and Cog servers (local or remote)."""
