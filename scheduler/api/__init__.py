"""The API toolkit every app's views build on: ViewSet base classes, pagination responses, the
schema, fields, parsers, renderers and middleware."""
