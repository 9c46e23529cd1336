"""Remediation: one coherent fix plan per namespace (plan.py) and its renderings."""
