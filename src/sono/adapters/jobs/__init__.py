"""The job engine that runs the outbox's deliveries and the periodic jobs in production."""
