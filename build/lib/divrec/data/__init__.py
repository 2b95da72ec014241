"""Datasets: fetch + verify raw data, build splits, and serve in-memory tensors."""
