"""The assignment reports: templates, the generator and the generated files."""
