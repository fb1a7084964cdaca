"""Every Yespo compatibility route: ``router`` goes under /v1, ``v2_router`` is /v2."""

from fastapi import APIRouter, Depends

from hushcast.orgs.deps import reject_unstorable_text
from hushcast.yespo.account_endpoints import router as account
from hushcast.yespo.contact_endpoints import router as contacts
from hushcast.yespo.event_endpoints import v1 as events_v1
from hushcast.yespo.event_endpoints import v2 as events_v2
from hushcast.yespo.group_endpoints import router as groups
from hushcast.yespo.send_endpoints import router as send
from hushcast.yespo.translation_endpoints import router as translations

router = APIRouter()
for sub in (account, contacts, groups, send, events_v1, translations):
    router.include_router(sub)

v2_router = APIRouter(prefix="/v2", dependencies=[Depends(reject_unstorable_text)])
v2_router.include_router(events_v2)
