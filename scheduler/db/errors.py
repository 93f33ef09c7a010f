"""The one reading of an AWS error's code, for every caller that branches on it (DynamoDB's through
PynamoDB or botocore, SQS's and SNS's through botocore)."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException


def error_code(exc: BaseException | None) -> str | None:
    """The code AWS answered with (`ConditionalCheckFailedException`, `QueueDoesNotExist`...), or None
    when there was no answer. A botocore `ClientError` carries the response; a PynamoDB error carries
    the botocore error as its `cause`. PynamoDB's own `cause_response_code` raises AttributeError on
    a cause without a response, such as botocore's ReadTimeoutError (its `response` is None): a
    DynamoDB that stopped answering mid-transaction gave a 500, not a 503."""
    if isinstance(exc, PynamoDBException):
        return error_code(exc.cause)
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error")
    return error.get("Code") if isinstance(error, dict) else None
