"""Keras's `applications.vgg16` module: ``VGG16``, ``preprocess_input``, ``decode_predictions`` (from vgg.py)."""

from .vgg import VGG16, decode_predictions, preprocess_input

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]
