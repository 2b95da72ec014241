"""Unconditional generation quality and speed: DCGAN vs DDPM vs DDGAN (issue 8, spec §10).

``images`` turns any dataset into uint8 [N, H, W, C] arrays; ``models`` holds the three model
families behind a registry; ``train``, ``sample`` (timed), ``evaluate`` and ``plots`` are the
bodies of the workflow's quality rules.
"""
