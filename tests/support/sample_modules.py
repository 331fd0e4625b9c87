"""Module sources used across the daemon tests, each a small real module."""

COUNTER = """
from sweatpants import Module

class Counter(Module):
    async def run(self, inputs, settings):
        start = self.get_checkpoint("next", 0)
        for i in range(start, inputs["n"]):
            await self.log(f"item {i}")
            yield {"i": i, "pad": "x" * inputs.get("pad", 0)}
            await self.progress(i + 1, inputs["n"])
"""

CHECKPOINTING = """
import asyncio
from sweatpants import Module

class Slow(Module):
    async def run(self, inputs, settings):
        start = self.get_checkpoint("next", 0)
        await self.log(f"starting at {start}")
        for i in range(start, inputs["n"]):
            yield {"i": i}
            if (i + 1) % inputs["every"] == 0:
                await self.save_checkpoint(next=i + 1)
            await asyncio.sleep(inputs["delay"])
"""

STUBBORN = """
import time
from sweatpants import Module

class Stubborn(Module):
    async def run(self, inputs, settings):
        await self.log("going to sleep and ignoring cancellation")
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.5)
        yield {}
"""

POLITE = """
import asyncio
from sweatpants import Module

class Polite(Module):
    async def run(self, inputs, settings):
        i = 0
        while not self.is_cancelled:
            yield {"i": i}
            i += 1
            await asyncio.sleep(0.05)
        await self.log("noticed the stop, cleaning up")
"""

SEGFAULT = """
import ctypes
from sweatpants import Module

class Crash(Module):
    async def run(self, inputs, settings):
        await self.log("about to crash")
        yield {"before": True}
        ctypes.string_at(0)
"""

EXIT_THREE = """
import os
from sweatpants import Module

class Quitter(Module):
    async def run(self, inputs, settings):
        yield {"before": True}
        os._exit(3)
"""

RAISES = """
from sweatpants import Module

class Broken(Module):
    async def run(self, inputs, settings):
        yield {"before": True}
        raise ValueError("the widget is missing")
"""

PRINTS = """
import logging
from sweatpants import Module

class Chatty(Module):
    async def run(self, inputs, settings):
        print("hello from print")
        logging.getLogger("chatty").warning("hello from logging")
        yield {"ok": True}
"""

# Inputs for CHECKPOINTING: 60 results, a checkpoint every 10, 50 ms apart (about 3 s).
CHECKPOINTING_INPUTS = [
    {"id": "n", "type": "integer", "default": 60},
    {"id": "every", "type": "integer", "default": 10},
    {"id": "delay", "type": "number", "default": 0.05},
]
