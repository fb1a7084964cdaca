"""Yespo (eSputnik) compatibility: the request and response shapes of Yespo's API,
translated into the service's own inputs, and the calls Yespo clients make that the
core modules do not serve (account/info, version, importstatus, events, activity)."""
