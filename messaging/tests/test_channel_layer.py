"""The Redis channel layer as configured: an idle receive must not fail."""

import asyncio

import pytest
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

pytestmark = pytest.mark.services


async def test_idle_receive_outlives_the_layers_pop_timeout():
    """channels-redis pops with a 5 s timeout; redis-py 8's default socket timeout is also 5 s,
    which made idle receives raise redis TimeoutError and killed consumers. Configured longer,
    the receive just keeps waiting."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    with pytest.raises(TimeoutError) as info:
        await asyncio.wait_for(layer.receive(channel), timeout=layer.brpop_timeout + 1.5)
    assert not isinstance(info.value, RedisError)
