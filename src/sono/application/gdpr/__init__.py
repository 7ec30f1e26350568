"""GDPR: deletion (scheduled or immediate, soft or hard), data export and consents."""
