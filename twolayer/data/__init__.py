"""Data: synthetic teacher-labelled inputs."""

from .synthetic import sample_inputs, teacher_dataset

__all__ = ["sample_inputs", "teacher_dataset"]
