"""Admin REST: users, teams, sites, encryption status and the signed-in user's profile."""

from fastapi import APIRouter

from relaydesk.admin import encryption, profile, sites, teams, users

router = APIRouter()
for _module in (users, teams, sites, profile, encryption):
    router.include_router(_module.router)
router.include_router(profile.files)
