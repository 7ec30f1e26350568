"""In-memory fakes of every port, with the same behaviour as the real adapters. Used by unit tests."""
