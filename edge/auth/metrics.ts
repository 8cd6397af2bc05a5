import { counter } from '../../core/metrics.js';

/** Outcomes of each auth operation; `result` is ok or the error code returned. */
export const authOutcomes = counter('im_auth_requests_total', 'Auth service requests by operation and result', ['op', 'result']);
