"""The audit log, readable by admins and operators: every admin action, sign-in and account change
the other features record, with a retention period after which entries go."""
