"""Training and evaluation: configs and presets, the DDP trainer, metrics, the notebook launcher."""

from .config import PRESETS, TrainConfig, apply_overrides, load_config, preset, preset_names
from .metrics import confusion_matrix, evaluate_scores, mean_class_accuracy, per_class_accuracy, top_k_accuracy
from .trainer import DivergenceError, KeySampler, RunResult, Trainer, evaluate, train

__all__ = [
    "PRESETS",
    "DivergenceError",
    "KeySampler",
    "RunResult",
    "TrainConfig",
    "Trainer",
    "apply_overrides",
    "confusion_matrix",
    "evaluate",
    "evaluate_scores",
    "load_config",
    "mean_class_accuracy",
    "per_class_accuracy",
    "preset",
    "preset_names",
    "top_k_accuracy",
    "train",
]
