"""The input rows: read from the spec or a rows file, checked, streamed again for every model."""
