/**
 * The Grafana dashboards as code: each dashboard is a short list of rows and panels below, and
 * `npx tsx ops/grafana/build.ts` writes the provisionable JSON models to ops/grafana/dashboards/.
 * The JSON is committed (Grafana reads it as is) and ops/dashboards.test.ts fails when it drifts
 * from this file, so edit here, rebuild, commit both. Layout (ids, grid positions) is derived, so
 * panel ids are unique by construction and nobody hand-places rectangles.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The uid of the provisioned Prometheus datasource (provisioning/datasources/prometheus.yml). */
export const DATASOURCE_UID = 'im-prometheus';
const datasource = { type: 'prometheus', uid: DATASOURCE_UID } as const;

/** The rate window Grafana picks from the scrape interval and the zoom level. */
const W = '$__rate_interval';

interface Query {
  expr: string;
  legend?: string;
}

interface PanelSpec {
  title: string;
  description?: string;
  kind?: 'timeseries' | 'stat' | 'text';
  queries?: Query[];
  /** Grafana unit id: ops (per second), s, bytes, short, percentunit. */
  unit?: string;
  /** Width in grid columns (24 per row). */
  w?: number;
  h?: number;
  stack?: boolean;
  /** Markdown for text panels. */
  content?: string;
}

interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

interface VariableSpec {
  name: string;
  label: string;
  /** A `label_values(metric, label)` query. */
  query: string;
}

interface DashboardSpec {
  file: string;
  uid: string;
  title: string;
  description: string;
  vars?: VariableSpec[];
  links?: boolean;
  rows: RowSpec[];
}

/** `histogram_quantile` over a histogram's buckets, summed by `by` plus `le`. */
function quantile(q: number, histogram: string, matchers = '', by: string[] = []): string {
  const labels = [...by, 'le'].join(', ');
  return `histogram_quantile(${q}, sum by (${labels}) (rate(${histogram}_bucket${matchers}[${W}])))`;
}

/** Per-second rate of a counter, summed by `by`. */
function rate(counter: string, matchers = '', by: string[] = []): string {
  const head = by.length > 0 ? `sum by (${by.join(', ')})` : 'sum';
  return `${head} (rate(${counter}${matchers}[${W}]))`;
}

const legendOf = (by: string[]): string => by.map((l) => `{{${l}}}`).join(' ');

// ---------------------------------------------------------------------------------------------
// The four dashboards.

const overview: DashboardSpec = {
  file: 'overview.json',
  uid: 'im-overview',
  title: 'IM / Overview',
  description: 'Is the platform healthy: connections, message flow, delivery latency, errors, dead letters, lag.',
  links: true,
  rows: [
    {
      title: 'Now',
      panels: [
        { title: 'Connections', kind: 'stat', w: 4, h: 4, queries: [{ expr: 'sum(im_gateway_connections)' }], unit: 'short' },
        { title: 'Messages in /s', kind: 'stat', w: 4, h: 4, queries: [{ expr: rate('im_gateway_frames_in_total', '{type="send_msg"}') }], unit: 'ops' },
        { title: 'Delivered /s', kind: 'stat', w: 4, h: 4, queries: [{ expr: rate('im_gateway_frames_out_total', '{type="message"}') }], unit: 'ops' },
        { title: 'Delivery p99', kind: 'stat', w: 4, h: 4, queries: [{ expr: quantile(0.99, 'im_gateway_delivery_latency_seconds') }], unit: 's' },
        { title: 'DLQ records (1h)', kind: 'stat', w: 4, h: 4, queries: [{ expr: 'sum(increase(im_processor_dlq_total[1h]))' }], unit: 'short' },
        { title: 'Max consumer lag', kind: 'stat', w: 4, h: 4, queries: [{ expr: 'max(im_consumer_lag)' }], unit: 'short' },
      ],
    },
    {
      title: 'Message flow',
      panels: [
        {
          title: 'Messages: in, stamped, delivered',
          description: 'send_msg frames accepted by the gateways, messages stamped by the pipeline, and message frames written to sockets (one per recipient device, so fan-out makes it larger).',
          w: 12,
          queries: [
            { expr: rate('im_gateway_frames_in_total', '{type="send_msg"}'), legend: 'in (send_msg)' },
            { expr: rate('im_processor_records_out_total', '{processor="stamper",topic="im.msg.stamped"}'), legend: 'stamped' },
            { expr: rate('im_gateway_frames_out_total', '{type="message"}'), legend: 'delivered (message frames)' },
          ],
          unit: 'ops',
        },
        {
          title: 'Delivery latency p50 / p99',
          description: 'From the message being stamped (OnlinePush.createdAt) to the write to the recipient socket.',
          w: 12,
          queries: [
            { expr: quantile(0.5, 'im_gateway_delivery_latency_seconds'), legend: 'p50' },
            { expr: quantile(0.99, 'im_gateway_delivery_latency_seconds'), legend: 'p99' },
          ],
          unit: 's',
        },
      ],
    },
    {
      title: 'Trouble',
      panels: [
        { title: 'Error frames by code', w: 8, queries: [{ expr: rate('im_gateway_error_frames_total', '', ['code']), legend: '{{code}}' }], unit: 'ops', stack: true },
        { title: 'Dead-lettered records by processor (5m)', w: 8, queries: [{ expr: 'sum by (processor) (increase(im_processor_dlq_total[5m]))', legend: '{{processor}}' }], unit: 'short' },
        { title: 'Consumer lag by group', w: 8, queries: [{ expr: 'sum by (group) (im_consumer_lag)', legend: '{{group}}' }], unit: 'short' },
        { title: 'Processor errors by code', w: 12, queries: [{ expr: rate('im_processor_errors_total', '', ['processor', 'code']), legend: '{{processor}} {{code}}' }], unit: 'ops' },
        { title: 'Ingress produce failures', description: 'Frames the gateway could not hand to Kafka (clients got SERVICE_UNAVAILABLE).', w: 12, queries: [{ expr: rate('im_gateway_ingress_failed_total'), legend: 'failed' }], unit: 'ops' },
      ],
    },
  ],
};

const edge: DashboardSpec = {
  file: 'edge.json',
  uid: 'im-edge',
  title: 'IM / Edge',
  description: 'The WebSocket gateways and the auth service they embed.',
  vars: [{ name: 'instance', label: 'Gateway', query: 'label_values(im_gateway_connections, instance)' }],
  links: true,
  rows: [
    {
      title: 'Connections',
      panels: [
        { title: 'Open connections by gateway', w: 8, queries: [{ expr: 'sum by (gateway) (im_gateway_connections{instance=~"$instance"})', legend: '{{gateway}}' }], unit: 'short' },
        {
          title: 'Memory per connection',
          description: 'Process RSS divided by open connections (the target is 8 KB). Kernel socket memory is not included: read /proc/net/sockstat on the node.',
          w: 8,
          queries: [{ expr: 'sum by (instance) (process_resident_memory_bytes{instance=~"$instance"}) / clamp_min(sum by (instance) (im_gateway_connections{instance=~"$instance"}), 1)', legend: '{{instance}}' }],
          unit: 'bytes',
        },
        { title: 'Closes by close code', description: '4000 going away, 4001 heartbeat timeout, 4002 slow consumer, 41xx terminal (see protocol/codes.ts).', w: 8, queries: [{ expr: rate('im_gateway_closes_total', '{instance=~"$instance"}', ['code']), legend: '{{code}}' }], unit: 'ops', stack: true },
        { title: 'Heartbeat timeouts', description: 'Connections closed with 4001: no heartbeat within IM_HEARTBEAT_TIMEOUT_MS.', w: 8, queries: [{ expr: rate('im_gateway_closes_total', '{instance=~"$instance",code="4001"}'), legend: 'heartbeat timeout' }], unit: 'ops' },
        { title: 'Back-pressure disconnects', description: 'Connections closed with 4002: buffered bytes above IM_MAX_BACKPRESSURE_BYTES.', w: 8, queries: [{ expr: rate('im_gateway_closes_total', '{instance=~"$instance",code="4002"}'), legend: 'slow consumer' }], unit: 'ops' },
        { title: 'Delivery ack timeouts', description: 'Pushed messages the client did not ack within IM_DELIVERY_ACK_TIMEOUT_MS; they become offline push tasks.', w: 8, queries: [{ expr: rate('im_gateway_ack_timeouts_total', '{instance=~"$instance"}'), legend: 'ack timeouts' }], unit: 'ops' },
      ],
    },
    {
      title: 'Frames',
      panels: [
        { title: 'Frames in by type', w: 8, queries: [{ expr: rate('im_gateway_frames_in_total', '{instance=~"$instance"}', ['type']), legend: '{{type}}' }], unit: 'ops', stack: true },
        { title: 'Frames out by type', w: 8, queries: [{ expr: rate('im_gateway_frames_out_total', '{instance=~"$instance"}', ['type']), legend: '{{type}}' }], unit: 'ops', stack: true },
        { title: 'Error frames by code', w: 8, queries: [{ expr: rate('im_gateway_error_frames_total', '{instance=~"$instance"}', ['code']), legend: '{{code}}' }], unit: 'ops', stack: true },
        {
          title: 'Ingress to Kafka',
          w: 8,
          queries: [
            { expr: rate('im_gateway_ingress_produced_total', '{instance=~"$instance"}'), legend: 'produced' },
            { expr: rate('im_gateway_ingress_failed_total', '{instance=~"$instance"}'), legend: 'failed' },
          ],
          unit: 'ops',
        },
        {
          title: 'Delivery latency (stamped to socket)',
          w: 8,
          queries: [
            { expr: quantile(0.5, 'im_gateway_delivery_latency_seconds', '{instance=~"$instance"}'), legend: 'p50' },
            { expr: quantile(0.9, 'im_gateway_delivery_latency_seconds', '{instance=~"$instance"}'), legend: 'p90' },
            { expr: quantile(0.99, 'im_gateway_delivery_latency_seconds', '{instance=~"$instance"}'), legend: 'p99' },
          ],
          unit: 's',
        },
        { title: 'Offline tasks from the gateway by reason', w: 8, queries: [{ expr: rate('im_gateway_offline_tasks_total', '{instance=~"$instance"}', ['reason']), legend: '{{reason}}' }], unit: 'ops' },
      ],
    },
    {
      title: 'Auth',
      panels: [
        { title: 'Auth requests by operation', w: 12, queries: [{ expr: rate('im_auth_requests_total', '{instance=~"$instance"}', ['op', 'result']), legend: '{{op}} {{result}}' }], unit: 'ops', stack: true },
        {
          title: 'Logins and login failures',
          w: 12,
          queries: [
            { expr: rate('im_auth_requests_total', '{instance=~"$instance",op="login",result="ok"}'), legend: 'logins' },
            { expr: rate('im_auth_requests_total', '{instance=~"$instance",op="login",result!="ok"}', ['result']), legend: 'failed: {{result}}' },
          ],
          unit: 'ops',
        },
      ],
    },
    {
      title: 'Process',
      panels: [
        {
          title: 'Event loop lag',
          w: 8,
          queries: [
            { expr: 'max by (instance) (nodejs_eventloop_lag_p99_seconds{instance=~"$instance"})', legend: 'p99 {{instance}}' },
            { expr: 'max by (instance) (nodejs_eventloop_lag_seconds{instance=~"$instance"})', legend: 'last {{instance}}' },
          ],
          unit: 's',
        },
        {
          title: 'Memory',
          w: 8,
          queries: [
            { expr: 'sum by (instance) (process_resident_memory_bytes{instance=~"$instance"})', legend: 'rss {{instance}}' },
            { expr: 'sum by (instance) (nodejs_heap_size_used_bytes{instance=~"$instance"})', legend: 'heap used {{instance}}' },
            // What RSS holds outside the JS heap (socket buffers, Buffers): where a growing RSS under a flat heap is.
            { expr: 'sum by (instance) (nodejs_external_memory_bytes{instance=~"$instance"})', legend: 'external {{instance}}' },
            { expr: 'sum by (instance) (im_nodejs_array_buffers_bytes{instance=~"$instance"})', legend: 'array buffers {{instance}}' },
          ],
          unit: 'bytes',
        },
        { title: 'CPU', w: 8, queries: [{ expr: 'sum by (instance) (rate(process_cpu_seconds_total{instance=~"$instance"}[$__rate_interval]))', legend: '{{instance}}' }], unit: 'percentunit' },
      ],
    },
  ],
};

const P = '{processor=~"$processor"}';

const pipeline: DashboardSpec = {
  file: 'pipeline.json',
  uid: 'im-pipeline',
  title: 'IM / Pipeline',
  description: 'The stream processors: throughput, per-record latency, errors, dead letters, consumer lag, and each stage\'s own outcomes.',
  vars: [{ name: 'processor', label: 'Processor', query: 'label_values(im_processor_records_in_total, processor)' }],
  links: true,
  rows: [
    {
      title: 'Throughput and latency',
      panels: [
        { title: 'Records in /s by processor', w: 12, queries: [{ expr: rate('im_processor_records_in_total', P, ['processor']), legend: '{{processor}}' }], unit: 'ops' },
        { title: 'Records out /s by processor and topic', w: 12, queries: [{ expr: rate('im_processor_records_out_total', P, ['processor', 'topic']), legend: '{{processor}} → {{topic}}' }], unit: 'ops' },
        { title: 'Per-record latency p50', description: 'Batch consumed to outputs acknowledged, divided by the records in the batch.', w: 12, queries: [{ expr: quantile(0.5, 'im_processor_batch_record_seconds', P, ['processor']), legend: '{{processor}}' }], unit: 's' },
        { title: 'Per-record latency p99', w: 12, queries: [{ expr: quantile(0.99, 'im_processor_batch_record_seconds', P, ['processor']), legend: '{{processor}}' }], unit: 's' },
      ],
    },
    {
      title: 'Failures and lag',
      panels: [
        { title: 'Errors by processor and code', description: 'Failed attempts, retried or dead-lettered.', w: 8, queries: [{ expr: rate('im_processor_errors_total', P, ['processor', 'code']), legend: '{{processor}} {{code}}' }], unit: 'ops' },
        { title: 'Dead-lettered records by processor (5m)', w: 8, queries: [{ expr: `sum by (processor, topic) (increase(im_processor_dlq_total${P}[5m]))`, legend: '{{processor}} ({{topic}})' }], unit: 'short' },
        { title: 'Consumer lag by group', w: 8, queries: [{ expr: 'sum by (group) (im_consumer_lag{group=~".*($processor)"})', legend: '{{group}}' }], unit: 'short' },
        { title: 'Consumer lag by group and partition', w: 24, h: 9, queries: [{ expr: 'im_consumer_lag{group=~".*($processor)"}', legend: '{{group}} {{topic}}[{{partition}}]' }], unit: 'short' },
      ],
    },
    {
      title: 'Stages',
      panels: [
        { title: 'Router: frames by type and outcome', w: 8, queries: [{ expr: rate('im_router_frames_total', '', ['type', 'outcome']), legend: legendOf(['type', 'outcome']) }], unit: 'ops' },
        { title: 'Router: circuit breaker transitions (5m)', w: 8, queries: [{ expr: 'sum by (state) (increase(im_router_breaker_transitions_total[5m]))', legend: '{{state}}' }], unit: 'short' },
        { title: 'Message logic: sends by outcome', w: 8, queries: [{ expr: rate('im_message_logic_total', '', ['kind', 'outcome']), legend: legendOf(['kind', 'outcome']) }], unit: 'ops' },
        { title: 'Stamper: outcomes', w: 8, queries: [{ expr: rate('im_stamper_records_total', '', ['outcome']), legend: '{{outcome}}' }], unit: 'ops' },
        { title: 'Push orchestration: recipients online / offline', w: 8, queries: [{ expr: rate('im_push_orchestrated_total', '', ['outcome']), legend: '{{outcome}}' }], unit: 'ops', stack: true },
        {
          title: 'Real-time push: records and deliveries',
          w: 8,
          queries: [
            { expr: rate('im_push_realtime_published_total'), legend: 'records published' },
            { expr: rate('im_push_realtime_deliveries_total'), legend: 'deliveries inside' },
          ],
          unit: 'ops',
        },
        { title: 'Relationship commands', w: 8, queries: [{ expr: rate('im_relation_commands_total', '', ['action', 'outcome']), legend: legendOf(['action', 'outcome']) }], unit: 'ops' },
        { title: 'Group commands', w: 8, queries: [{ expr: rate('im_group_commands_total', '', ['action', 'outcome']), legend: legendOf(['action', 'outcome']) }], unit: 'ops' },
        { title: 'Offline push: devices by platform and result', w: 8, queries: [{ expr: rate('im_offline_push_devices_total', '', ['platform', 'result']), legend: legendOf(['platform', 'result']) }], unit: 'ops' },
        { title: 'Offline push: vendor calls by platform and outcome', description: 'APNs / FCM calls; circuit_open means the vendor breaker refused the call.', w: 8, queries: [{ expr: rate('im_offline_push_vendor_calls_total', '', ['platform', 'outcome']), legend: legendOf(['platform', 'outcome']) }], unit: 'ops' },
        {
          title: 'Receipts and typing',
          w: 8,
          queries: [
            { expr: rate('im_receipts_total', '', ['kind', 'outcome']), legend: 'receipt {{kind}} {{outcome}}' },
            { expr: rate('im_typing_total', '', ['outcome']), legend: 'typing {{outcome}}' },
          ],
          unit: 'ops',
        },
      ],
    },
    {
      title: 'Processes',
      panels: [
        { title: 'Event loop lag p99', w: 8, queries: [{ expr: 'max by (instance) (nodejs_eventloop_lag_p99_seconds{job="processors"})', legend: '{{instance}}' }], unit: 's' },
        {
          title: 'Memory',
          w: 8,
          queries: [
            { expr: 'sum by (instance) (process_resident_memory_bytes{job="processors"})', legend: 'rss {{instance}}' },
            { expr: 'sum by (instance) (nodejs_heap_size_used_bytes{job="processors"})', legend: 'heap used {{instance}}' },
            { expr: 'sum by (instance) (nodejs_external_memory_bytes{job="processors"})', legend: 'external {{instance}}' },
          ],
          unit: 'bytes',
        },
        { title: 'CPU', w: 8, queries: [{ expr: 'sum by (instance) (rate(process_cpu_seconds_total{job="processors"}[$__rate_interval]))', legend: '{{instance}}' }], unit: 'percentunit' },
      ],
    },
  ],
};

const PERSIST = '{processor="persistence"}';

const storage: DashboardSpec = {
  file: 'storage.json',
  uid: 'im-storage',
  title: 'IM / Storage',
  description: 'MongoDB and Redis as the pipeline sees them: the persistence writer, history queries and the recent cache.',
  links: true,
  rows: [
    {
      title: 'Persistence writer (MongoDB)',
      panels: [
        { title: 'Messages written by outcome', description: 'inserted, or duplicate (already stored: idempotent replays).', w: 8, queries: [{ expr: rate('im_persistence_messages_total', '', ['outcome']), legend: '{{outcome}}' }], unit: 'ops', stack: true },
        {
          title: 'Bulk write batch size',
          w: 8,
          queries: [
            { expr: quantile(0.5, 'im_persistence_batch_size'), legend: 'p50' },
            { expr: quantile(0.99, 'im_persistence_batch_size'), legend: 'p99' },
            { expr: 'sum(rate(im_persistence_batch_size_sum[$__rate_interval])) / sum(rate(im_persistence_batch_size_count[$__rate_interval]))', legend: 'mean' },
          ],
          unit: 'short',
        },
        { title: 'Bulk writes /s', w: 8, queries: [{ expr: 'sum(rate(im_persistence_batch_size_count[$__rate_interval]))', legend: 'bulk writes' }], unit: 'ops' },
        { title: 'Persistence lag by partition', description: 'Stamped messages not yet written: sending never waits for the database, so this is where a slow MongoDB shows.', w: 8, queries: [{ expr: 'sum by (partition) (im_consumer_lag{group=~".*persistence"})', legend: 'partition {{partition}}' }], unit: 'short' },
        {
          title: 'Per-record write latency (includes the MongoDB bulk write)',
          w: 8,
          queries: [
            { expr: quantile(0.5, 'im_processor_batch_record_seconds', PERSIST), legend: 'p50' },
            { expr: quantile(0.99, 'im_processor_batch_record_seconds', PERSIST), legend: 'p99' },
          ],
          unit: 's',
        },
        { title: 'Persistence errors by code', w: 8, queries: [{ expr: rate('im_processor_errors_total', PERSIST, ['code']), legend: '{{code}}' }], unit: 'ops' },
      ],
    },
    {
      title: 'Media processor (object store)',
      panels: [
        { title: 'Images read by outcome', description: 'made: dimensions and a thumbnail; failed: not an image sharp reads (kept, without them); missing: the object was gone.', w: 8, queries: [{ expr: rate('im_media_thumbnails_total', '', ['outcome']), legend: '{{outcome}}' }], unit: 'ops', stack: true },
        { title: 'Objects deleted by reason', description: 'recalled (after the grace), retention, pending (uploaded, never attached).', w: 8, queries: [{ expr: rate('im_media_objects_deleted_total', '', ['reason']), legend: '{{reason}}' }], unit: 'ops', stack: true },
        { title: 'Media processor lag by partition', description: 'Stamped messages not yet measured: sending and delivery never wait for it (its own consumer group).', w: 8, queries: [{ expr: 'sum by (partition) (im_consumer_lag{group=~".*[.]media"})', legend: 'partition {{partition}}' }], unit: 'short' },
      ],
    },
    {
      title: 'Queries and recent cache (Redis, MongoDB)',
      panels: [
        { title: 'Query mirror writes (MongoDB) by topic', description: 'State records (relations, memberships) applied to the MongoDB mirror the HTTP reads use.', w: 8, queries: [{ expr: rate('im_mirror_writes_total', '', ['topic', 'kind']), legend: legendOf(['topic', 'kind']) }], unit: 'ops' },
        { title: 'History pages by tier', description: 'recent: answered from the Redis recent cache; store: from MongoDB.', w: 8, queries: [{ expr: rate('im_query_history_total', '', ['tier']), legend: '{{tier}}' }], unit: 'ops', stack: true },
        { title: 'Recent cache hit ratio', w: 8, queries: [{ expr: 'sum(rate(im_query_history_total{tier="recent"}[$__rate_interval])) / sum(rate(im_query_history_total[$__rate_interval]))', legend: 'hit ratio' }], unit: 'percentunit' },
        {
          title: 'Query latency per record (includes Redis and MongoDB reads)',
          w: 8,
          queries: [
            { expr: quantile(0.5, 'im_processor_batch_record_seconds', '{processor="query"}'), legend: 'p50' },
            { expr: quantile(0.99, 'im_processor_batch_record_seconds', '{processor="query"}'), legend: 'p99' },
          ],
          unit: 's',
        },
        {
          title: 'Presence lookups (Redis), per batch',
          w: 8,
          queries: [
            { expr: quantile(0.5, 'im_presence_lookup_seconds'), legend: 'p50' },
            { expr: quantile(0.99, 'im_presence_lookup_seconds'), legend: 'p99' },
          ],
          unit: 's',
        },
        {
          title: 'MongoDB command latency p99 by command',
          w: 8,
          queries: [{ expr: 'histogram_quantile(0.99, sum by (le, command) (rate(im_mongo_command_seconds_bucket[$__rate_interval])))', legend: '{{command}}' }],
          unit: 's',
        },
        { title: 'MongoDB command failures by command', w: 8, queries: [{ expr: rate('im_mongo_command_failures_total', '', ['command']), legend: '{{command}}' }], unit: 'ops' },
      ],
    },
  ],
};

export const dashboards: readonly DashboardSpec[] = [overview, edge, pipeline, storage];

// ---------------------------------------------------------------------------------------------
// The Grafana JSON model.

function variable(v: VariableSpec): Record<string, unknown> {
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    datasource,
    definition: v.query,
    query: { query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    includeAll: true,
    allValue: '.*',
    multi: true,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    refresh: 2,
    sort: 1,
    hide: 0,
  };
}

function panel(p: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
  const kind = p.kind ?? 'timeseries';
  const base: Record<string, unknown> = { id, type: kind, title: p.title, gridPos };
  if (p.description) base.description = p.description;
  if (kind === 'text') return { ...base, options: { mode: 'markdown', content: p.content ?? '' } };
  base.datasource = datasource;
  base.targets = (p.queries ?? []).map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource,
    expr: q.expr,
    legendFormat: q.legend ?? '__auto',
    range: true,
  }));
  if (kind === 'stat') {
    return {
      ...base,
      fieldConfig: { defaults: { unit: p.unit ?? 'short', decimals: 2, color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] } }, overrides: [] },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', justifyMode: 'auto', textMode: 'auto', orientation: 'auto' },
    };
  }
  return {
    ...base,
    fieldConfig: {
      defaults: {
        unit: p.unit ?? 'short',
        min: 0,
        color: { mode: 'palette-classic' },
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: p.stack ? 30 : 10, showPoints: 'never', spanNulls: true, stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' } },
      },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
  };
}

/** The Grafana JSON model of one dashboard: rows as row panels, panels flowed left to right. */
export function dashboardModel(d: DashboardSpec): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of d.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.w ?? 12;
      const h = p.h ?? (p.kind === 'stat' ? 4 : 8);
      if (x + w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push(panel(p, id++, { x, y, w, h }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['im'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-30m', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [] },
    links: d.links ? [{ title: 'IM dashboards', type: 'dashboards', tags: ['im'], asDropdown: true, includeVars: false, keepTime: true }] : [],
    templating: { list: (d.vars ?? []).map(variable) },
    panels,
  };
}

export const dashboardsDir = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');

/** The file contents, as committed: two-space JSON with a trailing newline. */
export const renderDashboard = (d: DashboardSpec): string => `${JSON.stringify(dashboardModel(d), null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const d of dashboards) {
    writeFileSync(join(dashboardsDir, d.file), renderDashboard(d));
    console.log(`wrote ops/grafana/dashboards/${d.file}`);
  }
}
