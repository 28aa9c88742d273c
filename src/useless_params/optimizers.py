"""The optimizers of the compiled training loop (a registry): each one fused TensorFlow kernel
per parameter and step.

TensorFlow is imported inside the update functions only, so the registry can be read (config
checks, the Snakefile) without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import InputError, shown
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
    keys: tuple[str, ...] = ()  # the ``training`` keys (null by default) that only this optimizer reads

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


def _momentum(p, g, slots, step, settings):
    import tensorflow as tf

    # Caffe's SGD with momentum (and Keras 3's): v = mu v - lr g; p += v. The velocity holds the
    # learning rate of its step, so a scheduled rate changes only the new term (Caffe's order).
    return tf.raw_ops.ResourceApplyKerasMomentum(var=p.handle, accum=slots[0].handle, lr=settings["learning_rate"],
                                                 grad=g, momentum=settings["momentum"], use_nesterov=False)


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
    Optimizer("momentum", "SGD with momentum (Caffe's, Keras 3's): v = mu v - lr g; p += v; mu is training.momentum",
              1, _momentum, keys=("momentum",)),
    Optimizer("rmsprop", "Keras 3's RMSprop, rho 0.9", 2, _rmsprop),
    Optimizer("adam", "Keras 3's Adam, beta 0.9 / 0.999", 2, _adam),
)


@dataclass(frozen=True)
class Schedule:
    """How the learning rate changes with the step of a run: ``rate(tf, base, iteration, settings)``
    (``iteration`` counts the run's updates from 0). ``keys``: the ``training`` keys it reads."""

    name: str
    description: str
    rate: Callable
    keys: tuple[str, ...] = ()


def _constant(tf, base, iteration, settings):
    return base


def _inv(tf, base, iteration, settings):
    # Caffe's "inv" policy (lenet_solver.prototxt): base (1 + gamma iter)^-power
    gamma, power = float(settings["learning_rate_gamma"]), float(settings["learning_rate_power"])
    return base * tf.pow(1.0 + gamma * tf.cast(iteration, tf.float32), -power)


# Learning-rate schedules by config name (training.learning_rate_schedule); each run (training,
# every retraining) starts its schedule at iteration 0.
SCHEDULES: dict[str, Schedule] = registry(
    Schedule("constant", "the learning rate of the run throughout", _constant),
    Schedule("inv", "Caffe's inv: lr (1 + gamma t)^-power at update t (training.learning_rate_gamma, "
             "training.learning_rate_power)", _inv, keys=("learning_rate_gamma", "learning_rate_power")),
)

# The ``training`` keys only some optimizers or schedules read; null (their default) elsewhere.
OPTIONAL_KEYS = tuple(dict.fromkeys(k for entry in (*OPTIMIZERS.values(), *SCHEDULES.values()) for k in entry.keys))


def schedule(name: str) -> Schedule:
    """The registered learning-rate schedule ``name``."""
    return lookup(SCHEDULES, name, key="training.learning_rate_schedule")


def check_settings(training: dict) -> None:
    """The optimizer and schedule exist, every key they read is set, and no key is set that neither
    reads (momentum for Adagrad would silently do nothing): one error naming the key."""
    opt, plan = optimizer(training["optimizer"]), schedule(training["learning_rate_schedule"])
    for key in OPTIONAL_KEYS:
        readers = [f"the {e.name} {kind}" for e, kind in ((opt, "optimizer"), (plan, "schedule")) if key in e.keys]
        if readers and training.get(key) is None:
            raise InputError(f"training.{key}: {readers[0]} needs it (it has no default)")
        if not readers and training.get(key) is not None:
            users = [f"the {e.name} {kind}" for entries, kind in ((OPTIMIZERS, "optimizer"), (SCHEDULES, "schedule"))
                     for e in entries.values() if key in e.keys]
            raise InputError(f"training.{key}: {shown(training[key])} is read only by {' or '.join(users)}, not by "
                             f"training.optimizer {opt.name} with learning_rate_schedule {plan.name}; remove it")


def optimizer(name: str) -> Optimizer:
    """The registered optimizer ``name``; an unknown name is an error listing the known ones."""
    return lookup(OPTIMIZERS, name, key="training.optimizer")
