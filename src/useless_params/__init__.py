"""Numerical core of the 'Useless Parameters' workflow.

Modules, bottom up: ``model`` (the network value type: architecture, parameters, scopes),
``registry`` (the one registry lookup), ``seeding`` (per-job random generators), ``store``
(the HDF5 weight store), ``dataformats`` and ``data`` (the dataset registry and its
sources), ``forward`` (the numpy forward pass and the activation registry),
``change_scale`` (per-parameter change statistics), ``optimizers`` (the optimizer registry),
``training`` (the compiled loop; the only module importing TensorFlow), ``evaluator`` (fast
numpy accuracy under disturbances), ``disturb`` (selection, shuffle and reset),
``experiments`` (the experiment registry), ``disturbance_job`` (one disturbance job),
``pruning`` (criteria, masks, retraining, sizes, the one-shot job, the summary and its
figures), ``aggregate`` (tables over repeats and seeds) and ``plots`` (plotnine figures).
"""

__version__ = "0.1.0"
