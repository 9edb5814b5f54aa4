// What every backend's hub-reach messages share.

/** The advice every "containers cannot reach the hub" message ends with. */
export const HUB_REACH_FIX = 'set hub.hub_connect_url to an address containers can reach';
