"""Security: roles, the permission layer, the audit trail, field encryption and throttling."""
