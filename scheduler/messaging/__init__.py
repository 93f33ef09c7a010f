"""Messaging: AWS clients, SQS queues and their transport, routing by country, worker steps,
the hand-off threads and the SNS topic."""
