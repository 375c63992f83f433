"""Admin REST: users, teams, sites and the signed-in user's profile."""

from fastapi import APIRouter

from relaydesk.admin import profile, sites, teams, users

router = APIRouter()
for _module in (users, teams, sites, profile):
    router.include_router(_module.router)
router.include_router(profile.files)
