"""The run folder: its one writer, the journal, the manifest, results.csv columns, resume and merge."""
