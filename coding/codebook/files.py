"""Codebook files by extension: YAML (.yaml, .yml) or REFI-QDA (.qdc)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from coding.codebook.model import Codebook
from coding.codebook.qdc import read_qdc, write_qdc
from coding.codebook.yamlfile import read_yaml, write_yaml
from coding.errors import InvalidCodebook


def load_codebook(path: str | PathLike[str]) -> Codebook:
    """Read a codebook from .yaml/.yml or REFI-QDA .qdc, by extension."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return read_yaml(path)
    if suffix == ".qdc":
        return read_qdc(path)
    raise InvalidCodebook(path, None, f"unsupported codebook type {suffix!r}; use .yaml, .yml or .qdc")


def save_codebook(book: Codebook, path: str | PathLike[str]) -> None:
    """Write a codebook as .yaml/.yml or REFI-QDA .qdc, by extension."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        write_yaml(book, path)
    elif suffix == ".qdc":
        write_qdc(book, path)
    else:
        raise InvalidCodebook(path, None, f"unsupported codebook type {suffix!r}; use .yaml, .yml or .qdc")


def convert(in_path: str | PathLike[str], out_path: str | PathLike[str]) -> Codebook:
    """Convert a codebook between YAML and REFI-QDA .qdc, choosing formats by extension."""
    book = load_codebook(in_path)
    save_codebook(book, out_path)
    return book
