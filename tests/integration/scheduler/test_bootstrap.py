import io
import json
import uuid

from django.core.management import call_command

from scheduler import db
from scheduler.messaging import aws


def run_bootstrap() -> str:
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def test_second_run_creates_nothing(api):
    assert api.post("/countries", {"countryId": "004", "name": "PERU", "code": "PE"}, format="json").status_code == 201
    run_bootstrap()  # may create the new country's queues
    output = run_bootstrap()
    assert "bootstrap done: 0 created" in output
    assert "created " not in output.replace("0 created", "")


def test_a_new_country_gets_its_queue_with_a_dead_letter_queue_at_once(api):
    assert api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json").status_code == 201
    name = aws.queue_name("appointments-cl")
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    assert policy["deadLetterTargetArn"].endswith(f"{name}-dlq")
    assert int(policy["maxReceiveCount"]) == 5
    output = run_bootstrap()
    assert f"found  queue {name}" in output
    assert "bootstrap done: 0 created" in output


def test_tables_have_their_indexes_and_ttl(aws_stack):
    from doctors.models import Doctor
    from scheduler.db.locks import Lock

    dynamodb = db.dynamodb_client()
    table = dynamodb.describe_table(TableName=Doctor.Meta.table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {"byCountry"}
    ttl = dynamodb.describe_time_to_live(TableName=Lock.Meta.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_topic_delivers_raw_to_the_notifications_queue(aws_stack):
    sns, sqs = aws.client("sns"), aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue_name("notifications"))["QueueUrl"]
    marker = {"eventId": f"probe-{uuid.uuid4()}"}
    sns.publish(TopicArn=aws.topic_arn(), Message=json.dumps(marker))
    bodies = []
    for _ in range(10):  # other tests' events may be waiting too
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if marker in bodies:
            break
    assert marker in bodies  # raw delivery: the message itself, no SNS envelope
