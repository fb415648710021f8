// Which of two requests for an LB VM's public link stands (docs/design.md §10.3). Pure.
//
// keepalived can flap: MASTER → BACKUP → MASTER within a second, each transition forking an
// `autok8s lb link up|down`. Those processes race to Temporal, so the order their requests
// arrive in is not the order keepalived made them. Each request carries `at`, the time the
// command started (the LB VM's clock, the same clock for every request about that VM), and
// the one made last stands. A request without `at` (a `temporal workflow signal` by hand)
// is taken as the newest: the operator means it now.
import type { LbLinkRequest } from '../intents';

/** The request that stands once `incoming` has arrived after `current`. */
export function standingLinkRequest(current: LbLinkRequest, incoming: LbLinkRequest): LbLinkRequest {
  if (current.at !== undefined && incoming.at !== undefined && incoming.at < current.at) return current;
  return incoming;
}
