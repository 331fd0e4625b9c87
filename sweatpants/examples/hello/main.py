"""The example module: greets `name` `count` times, `delay` seconds apart.

It shows everything a module can do: log lines, progress, results, checkpoints, and
stopping early when asked. Stop the daemon while it runs and start it again: the job
resumes after the last greeting it saved, and every greeting appears exactly once.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from sweatpants import Module


class Hello(Module):
    async def run(
        self, inputs: dict[str, Any], settings: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        name = inputs.get("name", "world")
        count = int(inputs.get("count", 5))
        delay = float(inputs.get("delay", 0.2))
        start = int(self.get_checkpoint("next", 0))
        if start:
            await self.log(f"Resuming after greeting {start} of {count}")
        else:
            await self.log(f"Greeting {name} {count} times")
        for i in range(start, count):
            if self.is_cancelled:
                await self.log("Asked to stop; stopping early", "WARNING")
                return
            greeting = f"Hello, {name}! ({i + 1}/{count})"
            await self.log(greeting)
            yield {"greeting": greeting, "n": i}
            await self.save_checkpoint(next=i + 1)
            await self.progress(i + 1, count)
            if delay > 0 and i + 1 < count:
                await asyncio.sleep(delay)
        await self.log("Done")
