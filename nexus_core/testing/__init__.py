"""In-memory fakes of every port, for tests of the core and of code built on it."""
