"""Customer 360 shared package: configuration and the app's data access."""
