"""A hook: one function that an app higher in the layers provides to a lower one, instead of an import.

The apps depend one way (domain <- brokerage <- clients <- entries <- refunds <- protests <- staff;
tests/test_layers.py). Where a lower app needs what a higher one keeps (the entry page's interest estimate
needs the IRS rates refunds stores), the lower app declares a Hook in its hooks.py and the higher app
provides it from its AppConfig.ready(). Until it is provided, calling the hook returns its default: the lower
app then does without, as it would if the higher app were not installed.
"""

from collections.abc import Callable
from typing import Any


class Hook:
    def __init__(self, name: str, *, default: Any = None):
        self.name = name
        self.default = default
        self.function: Callable | None = None

    def provide(self, function: Callable) -> Callable:
        """Fill the hook (once; providing the same function again is a no-op, another one is an error)."""
        if self.function is not None and self.function is not function:
            raise RuntimeError(f"{self.name} is already provided by {self.function.__qualname__}")
        self.function = function
        return function

    def __call__(self, *args, **kwargs):
        return self.default if self.function is None else self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {self.function.__qualname__ if self.function else 'not provided'}>"
