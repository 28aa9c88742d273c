"""Numerical core of the 'Useless Parameters' workflow.

Modules: ``data`` (MNIST sources), ``store`` (the HDF5 weight store),
``change_scale`` (per-parameter change statistics), ``evaluator`` (fast numpy
forward pass), ``disturb`` (selection, shuffle and reset), ``experiments``
(one disturbance job), ``seeding`` (per-job random generators), ``plots``
(plotnine figures) and ``training`` (Keras; the only module importing TensorFlow).
"""

__version__ = "0.1.0"
