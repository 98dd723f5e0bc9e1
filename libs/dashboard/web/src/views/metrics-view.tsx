import { LineChart } from '../components/line-chart';
import { formatInteger, formatRate } from '../format';
import { useLiveFeedState } from '../hooks';

/** The server's default metrics_update period, for the charts' time axis. */
const PERIOD_SECONDS = 2;

/** Live charts of the deployment's figures, from the `metrics_update` messages of the WebSocket. */
export function MetricsView() {
  const { metrics } = useLiveFeedState();
  const latest = metrics.at(-1);
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Metrics
      </h1>
      <p class="lead">Figures for the whole deployment, sent by the server every few seconds; the charts keep the last 3 minutes.</p>
      <div class="charts">
        <LineChart
          title="Events per second"
          values={metrics.map((sample) => sample.events.rate_per_second)}
          format={(value) => `${formatRate(value)} /s`}
          periodSeconds={PERIOD_SECONDS}
        />
        <LineChart title="Entities" values={metrics.map((sample) => sample.entities.total)} format={formatInteger} periodSeconds={PERIOD_SECONDS} />
        <LineChart
          title="WebSocket connections"
          values={metrics.map((sample) => sample.websocket.connections)}
          format={formatInteger}
          periodSeconds={PERIOD_SECONDS}
        />
      </div>
      <dl class="facts">
        <div>
          <dt>Events in total</dt>
          <dd>{latest === undefined ? '—' : formatInteger(latest.events.total)}</dd>
        </div>
        <div>
          <dt>Active publishers</dt>
          <dd>{latest === undefined ? '—' : formatInteger(latest.publishers.active)}</dd>
        </div>
      </dl>
    </section>
  );
}
