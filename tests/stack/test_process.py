"""What a user sees when the stack cannot start: what is wrong and what to do."""

from __future__ import annotations

import base64
import socket
import uuid

import pytest

from fraudlake.stack.artifacts import require_tool
from fraudlake.stack.process import Daemon, StackError, ensure_port_free, wait_until


def test_a_missing_tool_is_named_with_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StackError, match=r"`mvn` is not installed; install Maven: `apt-get install maven`"):
        require_tool("mvn")


def test_a_taken_port_names_the_port_and_the_setting_that_moves_it():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(StackError, match=rf"port {port} is already taken.*set KAFKA_PORT in .env"):
            ensure_port_free(port, "KAFKA_PORT", "Kafka")


def test_a_component_that_dies_shows_the_tail_of_its_log(tmp_path):
    daemon = Daemon("doomed", tmp_path, tmp_path / "logs")
    daemon.spawn(["sh", "-c", "echo 'FATAL: cannot bind'; exit 3"])
    with pytest.raises(StackError, match="(?s)the process exited.*FATAL: cannot bind"):
        wait_until(lambda: False, timeout=10, what="doomed", log=daemon.log_file,
                   alive=lambda: daemon.pid() is not None)


def test_a_component_that_never_gets_healthy_times_out_with_its_log(tmp_path):
    daemon = Daemon("slow", tmp_path, tmp_path / "logs")
    daemon.spawn(["sh", "-c", "echo 'still warming up'; sleep 30"])
    try:
        with pytest.raises(StackError, match="(?s)not healthy after 1 s.*still warming up"):
            wait_until(lambda: False, timeout=1, what="slow", log=daemon.log_file,
                       alive=lambda: daemon.pid() is not None)
    finally:
        daemon.terminate(timeout=5)
    assert daemon.pid() is None


def test_kafka_cluster_ids_never_start_with_a_dash(monkeypatch):
    # An id starting with "-" is taken for an option by kafka-storage format.
    from fraudlake.stack import kafka

    dashed, plain = uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" * 16)
    assert base64.urlsafe_b64encode(dashed.bytes).startswith(b"-")
    ids = iter([dashed, plain])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(ids))
    assert kafka._cluster_id() == base64.urlsafe_b64encode(plain.bytes).decode().rstrip("=")
