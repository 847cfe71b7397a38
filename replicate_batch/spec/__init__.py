"""The spec file: typed models of it, loading and validating it, and the problems found in it."""
