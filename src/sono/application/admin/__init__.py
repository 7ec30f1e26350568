"""Administration: user moderation, quotas, content and statistics."""
