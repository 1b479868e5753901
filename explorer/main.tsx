import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './explorer.css';
import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';
import type { ExplorerConfig } from '../src/transport/explorer.js';
import { createExplorerFetcher } from './fetcher.js';

/** Written into the page by the gateway; data only, so the CSP needs no inline script. */
function readConfig(): ExplorerConfig {
  const text = document.getElementById('explorer-config')?.textContent;
  return text ? (JSON.parse(text) as ExplorerConfig) : {};
}

function parseHeaders(text: string | undefined): Record<string, unknown> | undefined {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // GraphiQL itself reports malformed headers when they are used
  }
}

const config = readConfig();
const wsProtocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const fetcher = createExplorerFetcher({
  url: `${location.origin}/graphql`,
  subscriptionUrl: `${wsProtocol}//${location.host}/graphql`,
  initialHeaders: parseHeaders(config.initialHeaders),
});
const tabs = config.initialTabs?.map((tab) => ({ ...tab, headers: config.initialHeaders ?? null }));

const root = document.getElementById('root');
if (!root) throw new Error('explorer: #root is missing from index.html');
createRoot(root).render(
  <GraphiQL
    fetcher={fetcher}
    defaultTabs={tabs}
    initialHeaders={config.initialHeaders}
    defaultHeaders={config.initialHeaders}
    defaultEditorToolsVisibility={config.initialHeaders ? 'headers' : undefined}
  />,
);
