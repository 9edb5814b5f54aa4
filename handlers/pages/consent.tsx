/** @jsxImportSource hono/jsx */
// The OAuth "Authorize access" page, shown when someone other than the owner (an admin) opens a
// server. It posts back to the same authorize URL with the session's XSRF token.
import { Layout } from './layout.tsx';

const DESCRIBE: Record<string, string> = {
  'read:users:name': 'Read your user name',
  'read:users:groups': 'Read your group membership',
  'access:servers': 'Access the server',
  'access:services': 'Access the service',
};

export function ConsentPage(props: { hub: string; user: string; action: string; xsrf: string; clientName: string; serverUrl: string; scopes: string[] }) {
  return (
    <Layout title="Authorize access" hub={props.hub} user={props.user}>
      <div class="card">
        <h1>Authorize access</h1>
        <p>
          <strong>{props.clientName}</strong> ({props.serverUrl}) would like permission to identify you as{' '}
          <strong>{props.user}</strong>. It will be able to:
        </p>
        <ul>
          {props.scopes.map((s) => (
            <li>
              {DESCRIBE[s.split('!')[0]!] ?? s} <span class="muted">({s})</span>
            </li>
          ))}
        </ul>
        <form method="post" action={props.action}>
          <input type="hidden" name="_xsrf" value={props.xsrf} />
          <button type="submit">Authorize</button>
        </form>
      </div>
    </Layout>
  );
}
