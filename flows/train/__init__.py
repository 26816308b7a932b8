"""The ``fine-tune`` flow: a causal LM fine-tuned on the prepared blocks, tracked, registered.

Pure steps (precision, arguments, checkpoints, keys, the card, generation, the training loop)
live in their own modules; :mod:`flows.train.tasks` wraps them with I/O and tracking and
:mod:`flows.train.flow` strings the tasks together.
"""
