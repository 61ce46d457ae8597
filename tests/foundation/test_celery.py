import pytest
from django.db import transaction

from matmis.celery import app, enqueue_on_commit

calls: list[int] = []


@app.task(name="tests.record_call")
def record_call(*, number: int) -> None:
    calls.append(number)


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@pytest.mark.django_db(transaction=True)
def test_task_runs_only_after_the_transaction_commits():
    with transaction.atomic():
        enqueue_on_commit(record_call, number=1)
        assert calls == []
    assert calls == [1]


@pytest.mark.django_db(transaction=True)
def test_task_never_runs_for_a_rolled_back_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(record_call, number=2)
        raise RuntimeError("rolled back")
    assert calls == []


def test_without_a_broker_tasks_run_in_process():
    assert app.conf.task_always_eager is True
