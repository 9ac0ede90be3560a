"""The voice-of-the-customer pages: surveys and their answers, and the cases they opened."""

from __future__ import annotations

from fastapi import APIRouter

from touchpath.web.dashboard.pages import Render, StoreOf


def register(router: APIRouter, store: StoreOf, render: Render) -> None:
    """No pages yet."""
