"""The one shared DynamoDB layer, every app's way to its tables. Its modules, each named for what
it holds:

- `models`: the model base and `Meta` from settings, the model registry, the shared connection
  and the boto3 client of table administration;
- `clock`: `utcnow` and `new_id`;
- `transactions`: TransactWriteItems with per-item errors, If-Match checks, lost-race retries, the
  UpdateItem that keeps the version;
- `sharding`: sharded index keys and the parallel reads of every shard;
- `pagination`: signed cursors, one page per call, pages merged over shards;
- `batch`: BatchGetItem, BatchWriteItem and whole-table Scans in DynamoDB JSON;
- `errors`: `error_code`, the one reading of an AWS error's code;
- `tables`: bootstrap's tables, indexes and point-in-time recovery (imported as a module);
- `locks`, `backup`: the shared lock table; export and import of every table.

Every public name is importable from the package (`from scheduler.db import run_transaction`).
"""

from scheduler.db.batch import (
    BATCH_WRITE_LIMIT,
    batch_delete_raw,
    batch_get,
    batch_get_raw,
    batch_put_raw,
    scan_raw,
)
from scheduler.db.clock import new_id, utcnow
from scheduler.db.errors import error_code
from scheduler.db.models import (
    RecordModel,
    connection,
    dynamodb_client,
    register,
    registered_models,
    table_meta,
    tables_by_logical_name,
)
from scheduler.db.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    decode_cursor,
    encode_cursor,
    merge_shard_pages,
    paginate,
    paginate_shards,
    query_page,
)
from scheduler.db.sharding import in_parallel, query_shards, shard_key, shard_keys, shard_of, sweep_keys
from scheduler.db.transactions import (
    LOST_RACE_ATTEMPTS,
    TRANSACTION_ATTEMPTS,
    Transaction,
    apply_changes,
    check_if_match,
    create_record,
    delete_guarded,
    delete_record,
    hook_attempts,
    register_commit_check,
    register_commit_listener,
    retry_lost_races,
    run_transaction,
    save_record,
    transaction_connection,
    update_keeping_version,
    version_conflict,
)

__all__ = [
    "BATCH_WRITE_LIMIT",
    "DEFAULT_LIMIT",
    "LOST_RACE_ATTEMPTS",
    "MAX_LIMIT",
    "TRANSACTION_ATTEMPTS",
    "Page",
    "RecordModel",
    "Transaction",
    "apply_changes",
    "batch_delete_raw",
    "batch_get",
    "batch_get_raw",
    "batch_put_raw",
    "check_if_match",
    "connection",
    "create_record",
    "decode_cursor",
    "delete_guarded",
    "delete_record",
    "dynamodb_client",
    "encode_cursor",
    "error_code",
    "hook_attempts",
    "in_parallel",
    "merge_shard_pages",
    "new_id",
    "paginate",
    "paginate_shards",
    "query_page",
    "query_shards",
    "register",
    "registered_models",
    "retry_lost_races",
    "register_commit_check",
    "register_commit_listener",
    "run_transaction",
    "save_record",
    "scan_raw",
    "shard_key",
    "shard_keys",
    "shard_of",
    "sweep_keys",
    "table_meta",
    "tables_by_logical_name",
    "transaction_connection",
    "update_keeping_version",
    "utcnow",
    "version_conflict",
]
