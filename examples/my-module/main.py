from sweatpants import Module

class MyModule(Module):
    async def run(self, inputs, settings):
        start = self.get_checkpoint("page", 0)
        for page in range(start, 100):
            if self.is_cancelled:
                break
            await self.log(f"page {page}")
            yield {"page": page, "url": inputs["url"]}
            await self.save_checkpoint(page=page + 1)
            await self.progress(page + 1, 100)
