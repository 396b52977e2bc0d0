"""Code generation: ``openapi/topview.yaml`` -> pydantic models and typed endpoint stubs.

Run ``python -m codegen`` to regenerate, ``python -m codegen --check`` to fail on drift.
"""
