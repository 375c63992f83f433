"""Admin REST: users, teams, encryption status and the signed-in user's profile (the
sites' routes are in sites/routes.py)."""

from fastapi import APIRouter

from relaydesk.admin import encryption, profile, teams, users

router = APIRouter()
for _module in (users, teams, profile, encryption):
    router.include_router(_module.router)
router.include_router(profile.files)
