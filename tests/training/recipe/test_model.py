"""The model part: zoo names and scales, and hyperparameters checked against the real class."""

from __future__ import annotations

from distillsr.training.recipe.model import model_parameters


def test_unknown_model_kwarg_suggests_the_real_one(minimal, error_of):
    message = error_of(minimal.replace("  scale: 4", "  scale: 4\n  kwargs: {channels_x: 32}"))
    assert "model.kwargs.channels_x" in message and "'channels'" in message and "RFDN" in message


def test_model_kwargs_are_typed_and_build(minimal, parse, error_of):
    recipe = parse(minimal.replace("  scale: 4", "  scale: 4\n  kwargs: {channels: 32, attention: ESA}"))
    assert recipe.model.kwargs == {"channels": 32, "attention": "esa"}
    message = error_of(minimal.replace("  scale: 4", "  scale: 4\n  kwargs: {channels: many}"))
    assert "model.kwargs.channels" in message and "an integer" in message
    assert "model.scale" in error_of(minimal.replace("  scale: 4", "  scale: 4\n  kwargs: {scale: 2}"))


def test_unknown_model_and_unsupported_scale(minimal, error_of):
    message = error_of(minimal.replace("name: rfdn", "name: rfnd"))
    assert "model.name" in message and "rfdn" in message
    message = error_of(minimal.replace("scale: 4", "scale: 8"))
    assert "model.scale" in message and "x8" in message


def test_model_parameters_come_from_the_class_signature():
    parameters = model_parameters("rfdn", 4)
    assert "channels" in parameters and "attention" in parameters
    assert "scale" not in parameters and "self" not in parameters
