"""The optimizers of the compiled training loop (a registry): each one fused TensorFlow kernel
per parameter and step.

TensorFlow is imported inside the update functions only, so the registry can be read (config
checks, the Snakefile) without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .registry import lookup, registry


@dataclass(frozen=True)
class Optimizer:
    """``n_slots`` state variables per parameter and ``apply(param, grad, slots, step, settings)``,
    which updates the variables in place with TensorFlow's fused ``ResourceApply*`` kernel
    (one op per parameter and step instead of ten: the loop is bound by per-op overhead).
    ``initial_slot_key``: the ``training`` key of the slots' starting value (else 0)."""

    name: str
    description: str
    n_slots: int
    apply: Callable
    initial_slot_key: str | None = None

    def initial_slot(self, settings: dict) -> float:
        return float(settings.get(self.initial_slot_key, 0.0)) if self.initial_slot_key else 0.0


def _adagrad_keras1(p, g, slots, step, settings):
    import tensorflow as tf

    # ApplyAdagradV2 is exactly Keras 1's rule: a += g^2; p -= lr g / (sqrt(a) + eps).
    return tf.raw_ops.ResourceApplyAdagradV2(var=p.handle, accum=slots[0].handle, lr=settings["learning_rate"],
                                              epsilon=settings["epsilon"], grad=g, update_slots=True)


def _sgd(p, g, slots, step, settings):
    import tensorflow as tf

    return tf.raw_ops.ResourceApplyGradientDescent(var=p.handle, alpha=settings["learning_rate"], delta=g)


def _rmsprop(p, g, slots, step, settings):
    import tensorflow as tf

    # Keras 3's RMSprop without momentum (rho 0.9): v = rho v + (1 - rho) g^2; p -= lr g / sqrt(v + eps).
    return tf.raw_ops.ResourceApplyRMSProp(var=p.handle, ms=slots[0].handle, mom=slots[1].handle,
                                           lr=settings["learning_rate"], rho=0.9, momentum=0.0,
                                           epsilon=settings["epsilon"], grad=g)


def _adam(p, g, slots, step, settings):
    import tensorflow as tf

    # Keras 3's Adam (beta 0.9 / 0.999, bias-corrected, eps outside the square root).
    t = tf.cast(step, tf.float32)
    return tf.raw_ops.ResourceApplyAdam(var=p.handle, m=slots[0].handle, v=slots[1].handle,
                                        beta1_power=tf.pow(0.9, t), beta2_power=tf.pow(0.999, t),
                                        lr=settings["learning_rate"], beta1=0.9, beta2=0.999,
                                        epsilon=settings["epsilon"], grad=g)


OPTIMIZERS: dict[str, Optimizer] = registry(
    Optimizer("adagrad", "Keras 1's Adagrad: a += g^2; p -= lr g / (sqrt(a) + eps)", 1, _adagrad_keras1,
              initial_slot_key="initial_accumulator_value"),
    Optimizer("sgd", "plain SGD: p -= lr g", 0, _sgd),
    Optimizer("rmsprop", "Keras 3's RMSprop, rho 0.9", 2, _rmsprop),
    Optimizer("adam", "Keras 3's Adam, beta 0.9 / 0.999", 2, _adam),
)


def optimizer(name: str) -> Optimizer:
    """The registered optimizer ``name``; an unknown name is an error listing the known ones."""
    return lookup(OPTIMIZERS, name, key="training.optimizer")
