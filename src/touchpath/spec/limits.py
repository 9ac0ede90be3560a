"""Size limits, as Segment documents them for its tracking API."""

MAX_MESSAGE_BYTES = 32 * 1024
"""One message, serialised."""
MAX_BATCH_BYTES = 500 * 1024
"""One batch request body, after decompression."""
MAX_BATCH_MESSAGES = 2500
"""Messages in one batch request."""
MAX_EVENT_NAME_CHARS = 200
MAX_ID_CHARS = 1024
