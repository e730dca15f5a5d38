"""Exceptions sinapse raises besides the built-in TypeError and ValueError."""


class CudaUnavailableError(RuntimeError):
    """A CUDA array was given to an op, but CUDA cannot be used here.

    The message carries sinapse.cuda.why_unavailable(): no GPU, no driver, sinapse built
    without CUDA, or CuPy missing.
    """
