import { useEffect, useRef } from 'preact/hooks';
import { publicMode } from './flux';
import { formatRate } from './format';
import { useLiveFeedState } from './hooks';
import { hrefOf, useRoute, type Route } from './router';
import { ConfigView } from './views/config-view';
import { ConnectorsView } from './views/connectors-view';
import { DirectoryView } from './views/directory-view';
import { EntitiesView } from './views/entities-view';
import { EntityView } from './views/entity-view';
import { MetricsView } from './views/metrics-view';
import { PublishView } from './views/publish-view';
import { SourcesView } from './views/sources-view';

const NAVIGATION: ReadonlyArray<{ view: Route['view']; label: string; route: Route }> = [
  { view: 'entities', label: 'Entities', route: { view: 'entities', prefix: '', namespace: '', filter: '' } },
  { view: 'metrics', label: 'Metrics', route: { view: 'metrics' } },
  { view: 'directory', label: 'Directory', route: { view: 'directory' } },
  { view: 'connectors', label: 'Connectors', route: { view: 'connectors' } },
  { view: 'sources', label: 'Sources', route: { view: 'sources' } },
  { view: 'config', label: 'Config', route: { view: 'config' } },
  { view: 'publish', label: 'Publish', route: { view: 'publish', entityId: '' } },
];

const TITLES: Record<Route['view'], string> = {
  entities: 'Entities',
  entity: 'Entity',
  metrics: 'Metrics',
  directory: 'Directory',
  connectors: 'Connectors',
  sources: 'Sources',
  config: 'Configuration',
  publish: 'Publish',
};

export function App() {
  const route = useRoute();
  const first = useRef(true);
  // A new view is announced by moving focus to its heading (not on the first load).
  useEffect(() => {
    document.title = route.view === 'entity' ? `${route.id} · Flux` : `${TITLES[route.view]} · Flux`;
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('view-title')?.focus();
  }, [route]);
  const current = route.view === 'entity' ? 'entities' : route.view;
  return (
    <>
      <a class="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header class="site-header">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            F
          </span>
          <span>Flux</span>
          {publicMode ? <span class="mode">public mode</span> : null}
        </div>
        <nav aria-label="Dashboard">
          <ul>
            {NAVIGATION.map((item) => (
              <li key={item.view}>
                <a href={hrefOf(item.route)} aria-current={current === item.view ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <LiveStatus />
      </header>
      <main id="main" tabIndex={-1}>
        <View route={route} />
      </main>
    </>
  );
}

/** The skip link targets an id while the fragment holds the route: focus without changing the URL. */
function skipToMain(event: MouseEvent): void {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'entities':
      return <EntitiesView prefix={route.prefix} namespace={route.namespace} filter={route.filter} />;
    case 'entity':
      return <EntityView key={route.id} id={route.id} />;
    case 'metrics':
      return <MetricsView />;
    case 'directory':
      return <DirectoryView />;
    case 'connectors':
      return <ConnectorsView />;
    case 'sources':
      return <SourcesView />;
    case 'config':
      return <ConfigView />;
    case 'publish':
      return <PublishView key={route.entityId} entityId={route.entityId} />;
  }
}

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  failed: 'No live updates (reload the page)',
} as const;

function LiveStatus() {
  const { state, metrics } = useLiveFeedState();
  const latest = metrics.at(-1);
  return (
    <div class="live-status">
      <span class={`dot dot-${state}`} aria-hidden="true" />
      {/* Only the connection state is announced; the rate changes every few seconds. */}
      <span role="status">{CONNECTION_TEXT[state]}</span>
      {latest === undefined ? null : <span class="live-rate">{formatRate(latest.events.rate_per_second)} events/s</span>}
    </div>
  );
}
