"""Every Yespo compatibility route, in one router for the app to include."""

from fastapi import APIRouter

from hushcast.yespo.account_endpoints import router as account
from hushcast.yespo.contact_endpoints import router as contacts
from hushcast.yespo.group_endpoints import router as groups
from hushcast.yespo.send_endpoints import router as send

router = APIRouter()
for sub in (account, contacts, groups, send):
    router.include_router(sub)
