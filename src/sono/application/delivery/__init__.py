"""The outbox's delivery as messages: claiming due rows, recording a failed reaction, and the
operator's view (state, failed rows, requeueing)."""
