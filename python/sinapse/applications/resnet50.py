"""Keras's `applications.resnet50` module: ``ResNet50``, ``preprocess_input``, ``decode_predictions`` (from resnet.py)."""

from .resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
