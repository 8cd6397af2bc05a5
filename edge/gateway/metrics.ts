import { counter, gauge, histogram } from '../../core/metrics.js';

/** The gateway's instruments (names prefixed im_gateway_), defined next to the code they measure. */
export const gatewayMetrics = {
  connections: gauge('im_gateway_connections', 'Open WebSocket connections', ['gateway']),
  framesIn: counter('im_gateway_frames_in_total', 'Client frames received, by type', ['type']),
  framesOut: counter('im_gateway_frames_out_total', 'Frames written to clients, by type', ['type']),
  errorFrames: counter('im_gateway_error_frames_total', 'Error frames sent, by code', ['code']),
  closes: counter('im_gateway_closes_total', 'Connections closed by the gateway, by close code', ['code']),
  unrequestedCloses: counter(
    'im_gateway_unrequested_closes_total',
    'Connections closed without the gateway closing them, by the code of uWS close handler: 1000/1001/1005 the client\'s close frame; 1006 no close frame (peer gone, or uWS closed the socket itself; reason: uWS\'s, "none" when it gave none)',
    ['code', 'reason'],
  ),
  ackTimeouts: counter('im_gateway_ack_timeouts_total', 'Pushed messages not acked in time (reported undelivered)', []),
  offlineTasks: counter('im_gateway_offline_tasks_total', 'Offline push tasks produced by the gateway, by reason', ['reason']),
  ingressProduced: counter('im_gateway_ingress_produced_total', 'Frames produced to the ingress topic', []),
  ingressFailed: counter('im_gateway_ingress_failed_total', 'Frames that could not be produced (client told SERVICE_UNAVAILABLE)', []),
  ingressResendsCoalesced: counter('im_gateway_ingress_resends_coalesced_total', 'Resent frames not produced: a copy with the same msg_id from the same connection was still waiting to be produced', []),
  deliveryLatency: histogram('im_gateway_delivery_latency_seconds', 'From the push being stamped (OnlinePush.createdAt) to the write to the socket', []),
};
