"""Inference: running a model on images (tiling, the upscaling engine, self-ensemble, ONNX export and runtime)."""
