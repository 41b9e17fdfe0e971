"""Base for every API view: JWT auth, authenticated by default, shared throttles."""

from __future__ import annotations

from rest_framework.views import APIView


class ApiView(APIView):
    """One view per operation (HackSoft style); subclasses add throttle scopes."""
