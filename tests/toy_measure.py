"""A tiny factory for the --measure CLI tests."""
import torch.nn as nn


def toy():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
