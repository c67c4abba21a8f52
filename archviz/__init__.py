"""archviz: take a convolutional network apart.

    >>> import archviz
    >>> p = archviz.profile("resnet50")              # a catalogue name, through the store
    >>> p = archviz.profile(my_module, (1, 3, 224, 224))   # any nn.Module (never stored)
    >>> p                                             # one line; in a notebook: cards, diagram, table
    >>> p.table, p.diagram(), archviz.report(p)

`import archviz` is light: torch is imported only when a model is actually traced."""

from .api import diagram, profile, report
from .errors import ArchvizError
from .record import Profile

__version__ = "0.1.0"

__all__ = ["ArchvizError", "Profile", "profile", "diagram", "report", "__version__"]


def __dir__() -> list[str]:
    """The public names only (tab completion in notebooks)."""
    return list(__all__)
