"""ptlib: the helper package of the course *Pre-trained Models, Hands-On*.

The notebooks hold the teaching; ptlib holds what several chapters need and what deserves tests.
Modules are named after concepts and depend on each other in one direction:

``runtime``, ``plots``, ``results``, ``checksums`` (bottom)  <-  ``data``, ``models``  <-  ``evaluate`` (top).

Import the modules you need, e.g. ``from ptlib import data, results``.
"""

import warnings

# tqdm.auto (used by transformers and datasets) warns in notebooks without ipywidgets and then
# falls back to text bars, which is what the book shows anyway.
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"

#: Where the course lives; notebooks link their Colab badge here.
REPOSITORY = "https://github.com/pretrained-models-hands-on/course"
