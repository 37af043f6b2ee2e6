"""Progress of the long management commands (analyze_patterns, load_demo): one tqdm bar per stage, on stderr."""

from __future__ import annotations

from tqdm import tqdm


class StageBars:
    """A `progress(stage, done, total)` callback: one tqdm bar per stage, on stderr; `close()` when done."""

    def __init__(self, *, disable: bool, unit: str = "step") -> None:
        self.disable = disable
        self.unit = unit
        self.stage: str | None = None
        self.bar: tqdm | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=f"{stage:<10}", unit=self.unit, disable=self.disable, leave=True)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
