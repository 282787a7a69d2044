"""numba kernels behind the public API, each with a NumPy twin in ``twolayer.reference``.

Arrays are copied into slices and updated in place element by element (``out[i, j] = src[i, j]``,
``a[i] -= lr * g[i]`` in loops), not by slice assignment from an array (``out[lo:hi] = src``, and
``a -= lr * g``, which numba compiles as one): for that numba compiles, into every kernel
that has one, a shape-mismatch error whose message it formats with strings, 2 to 5 s of first
compilation each (numba 0.68) for a copy.
"""
