"""Unconditional generation quality and speed: DCGAN vs DDPM vs DDGAN (issue 8, spec §10)."""
