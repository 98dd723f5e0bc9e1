import { useEffect, useState } from 'preact/hooks';

/** The views, addressed by the URL's fragment so that the server only ever serves `/`. */
export type Route =
  | { view: 'entities'; prefix: string; namespace: string; filter: string }
  | { view: 'entity'; id: string }
  | { view: 'metrics' }
  | { view: 'directory' }
  | { view: 'connectors' }
  | { view: 'sources' }
  | { view: 'config' }
  | { view: 'publish'; entityId: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const params = new URLSearchParams(query);
  const [view = '', ...rest] = path.split('/');
  switch (view) {
    case 'entity':
      return rest.length > 0 ? { view: 'entity', id: decodeURIComponent(rest.join('/')) } : entities(params);
    case 'metrics':
    case 'directory':
    case 'connectors':
    case 'sources':
    case 'config':
      return { view };
    case 'publish':
      return { view: 'publish', entityId: params.get('entity') ?? '' };
    default:
      return entities(params);
  }
}

const entities = (params: URLSearchParams): Route => ({
  view: 'entities',
  prefix: params.get('prefix') ?? '',
  namespace: params.get('namespace') ?? '',
  filter: params.get('filter') ?? '',
});

export function hrefOf(route: Route): string {
  switch (route.view) {
    case 'entities': {
      const params = new URLSearchParams();
      if (route.prefix !== '') params.set('prefix', route.prefix);
      if (route.namespace !== '') params.set('namespace', route.namespace);
      if (route.filter !== '') params.set('filter', route.filter);
      const query = params.toString();
      return query === '' ? '#/' : `#/?${query}`;
    }
    case 'entity':
      return `#/entity/${encodeURIComponent(route.id)}`;
    case 'publish':
      return route.entityId === '' ? '#/publish' : `#/publish?entity=${encodeURIComponent(route.entityId)}`;
    default:
      return `#/${route.view}`;
  }
}

export const entityHref = (id: string): string => hrefOf({ view: 'entity', id });

/** The current route, following the fragment. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const follow = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  return route;
}

export function navigate(route: Route): void {
  window.location.hash = hrefOf(route);
}
