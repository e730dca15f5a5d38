"""Keras's `applications.vgg19` module: ``VGG19``, ``preprocess_input``, ``decode_predictions`` (from vgg.py)."""

from .vgg import VGG19, decode_predictions, preprocess_input

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]
