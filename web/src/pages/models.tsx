import { useEffect, useState } from 'preact/hooks';
import { Chip, Failure, fmt, Pager, when } from '../components.js';
import { useJson } from '../hooks.js';

/** `GET /ferry/v1/models` (one page). */
export interface ModelsResponse {
  total: number;
  offset: number;
  limit: number;
  items: {
    name: string;
    description: string;
    versions: number;
    latest: { version: number; format: string; createdAt: string; createdBy: string } | null;
    aliases: { alias: string; version: number }[];
    serving: string;
    requestsPerSecond: number;
  }[];
}

const PAGE = 50;

/** Every model, a server page at a time: aliases, latest version, format, serving state, request rate. */
export function ModelsPage() {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [alias, setAlias] = useState('');
  const [offset, setOffset] = useState(0);
  // Typing waits for a pause before asking the server.
  useEffect(() => {
    const t = setTimeout(() => { setQuery(search); setOffset(0); }, 200);
    return () => clearTimeout(t);
  }, [search]);
  const { data, error } = useJson<ModelsResponse>('ferry/v1/models', { search: query, alias, offset, limit: PAGE }, 5000);
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label for="model-search">Search</label>
        <input id="model-search" type="search" value={search} placeholder="name or description" onInput={(e) => setSearch(e.currentTarget.value)} />
        <label for="model-alias">With alias</label>
        <input id="model-alias" type="text" value={alias} placeholder="champion" onChange={(e) => { setAlias(e.currentTarget.value.trim()); setOffset(0); }} />
      </form>
      <Failure error={error} />
      {data ? (
        <>
          <div class="table-wrap">
            <table class="models" data-testid="models-table">
              <caption class="sr-only">Registered models</caption>
              <thead>
                <tr><th scope="col">Model</th><th scope="col">Aliases</th><th scope="col">Latest</th><th scope="col">Format</th><th scope="col">Versions</th><th scope="col">Created</th><th scope="col">Serving</th><th scope="col" class="num">Requests/s</th></tr>
              </thead>
              <tbody>
                {data.items.map((m) => (
                  <tr key={m.name}>
                    <th scope="row"><a href={`#/models/${encodeURIComponent(m.name)}`}>{m.name}</a>{m.description ? <div class="muted small">{m.description}</div> : null}</th>
                    <td>{m.aliases.map((a) => <Chip key={a.alias}>{a.alias} → {a.version}</Chip>)}</td>
                    <td>{m.latest ? m.latest.version : '–'}</td>
                    <td>{m.latest?.format ?? '–'}</td>
                    <td>{fmt(m.versions)}</td>
                    <td class="small">{when(m.latest?.createdAt)}</td>
                    <td><Chip kind={m.serving === 'ready' ? 'ok' : m.serving === 'loading' ? 'warn' : 'off'}>{m.serving}</Chip></td>
                    <td class="num">{fmt(m.requestsPerSecond)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager total={data.total} offset={data.offset} limit={data.limit} onOffset={setOffset} label="Models" />
        </>
      ) : null}
    </section>
  );
}
