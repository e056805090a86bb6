import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useRoute } from './hooks.js';
import { DriftPage } from './pages/drift.js';
import { ModelPage } from './pages/model.js';
import { ModelsPage } from './pages/models.js';
import { AlertsPage, BatchPage, StreamsPage } from './pages/operations.js';
import { PlaygroundPage } from './pages/playground.js';
import { TrafficPage } from './pages/traffic.js';
import './style.css';

const PAGES: readonly { path: string; label: string }[] = [
  { path: 'models', label: 'Models' },
  { path: 'traffic', label: 'Traffic' },
  { path: 'drift', label: 'Drift' },
  { path: 'batch', label: 'Batch' },
  { path: 'streams', label: 'Streams' },
  { path: 'alerts', label: 'Alerts' },
  { path: 'playground', label: 'Playground' },
];

function ThemeToggle() {
  const [theme, setTheme] = useState(() => localStorage.getItem('ferry.theme') ?? '');
  useEffect(() => {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
  }, [theme]);
  const dark = theme === 'dark' || (theme === '' && matchMedia('(prefers-color-scheme: dark)').matches);
  return (
    <button type="button" class="theme" aria-pressed={dark} onClick={() => { const t = dark ? 'light' : 'dark'; localStorage.setItem('ferry.theme', t); setTheme(t); }}>
      {dark ? 'Light theme' : 'Dark theme'}
    </button>
  );
}

function App() {
  const route = useRoute();
  const page = route[0] ?? 'models';
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header>
        <a class="brand" href="#/models">Ferry</a>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => <li key={p.path}><a href={`#/${p.path}`} aria-current={page === p.path ? 'page' : undefined}>{p.label}</a></li>)}
          </ul>
        </nav>
        <ThemeToggle />
      </header>
      <main id="main" tabIndex={-1}>
        <View route={route} />
      </main>
    </>
  );
}

function View({ route }: { route: string[] }) {
  const [page = 'models', arg] = route;
  switch (page) {
    case 'models': return arg ? <ModelPage key={arg} name={arg} /> : <ModelsPage />;
    case 'traffic': return <TrafficPage />;
    // Keyed by the model in the address: #/drift/a → #/drift/b starts the page afresh.
    case 'drift': return <DriftPage key={arg ?? ''} model={arg} />;
    case 'batch': return <BatchPage />;
    case 'streams': return <StreamsPage />;
    case 'alerts': return <AlertsPage />;
    case 'playground': return <PlaygroundPage key={arg ?? ''} model={arg} />;
    default: return <p role="alert">No page "{page}".</p>;
  }
}

render(<App />, document.getElementById('app')!);
