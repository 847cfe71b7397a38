"""Running jobs: one job from create to downloaded files, with retries, rate limits and progress."""
