"""Fixtures of the reliability drills."""

import shutil

import pytest

from tests.reliability.servers import PrivateRedis


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    redis = PrivateRedis(tmp_path, persistent=True)  # as docker-compose runs it
    redis.start()
    yield redis
    if redis.process.poll() is None:
        redis.process.terminate()
        redis.process.wait(timeout=10)
