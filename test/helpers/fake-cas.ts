// A CAS server for tests (Apereo CAS protocol 2.0/3.0, the parts a CAS client meets), on
// node:http at 127.0.0.1 under /cas: /login shows a sign-in form and, signed in, sends the browser
// to the service URL with &ticket=ST-…; /serviceValidate (2.0, no attributes) and
// /p3/serviceValidate (3.0, attributes, multi-valued ones repeated) answer in the spec's XML, with
// its failure codes. Tickets are single-use (a failed validation spends one too), expire, and are
// bound to the exact service URL they were issued for. Every value in the XML is escaped.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface FakeCasUser {
  password: string;
  /** Released by /p3/serviceValidate; an array is a multi-valued attribute. */
  attributes?: Record<string, string | string[]>;
}

export interface FakeCasOptions {
  users: Record<string, FakeCasUser>;
  /** Service tickets live this long (the spec recommends at most 5 minutes). */
  ticketTtlMs?: number;
  now?: () => number;
}

export interface FakeCasValidation {
  path: string;
  /** Every query parameter the client sent. */
  params: Record<string, string>;
  /** What the answer said: the user, or the failure code. */
  result: string;
}

const xml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const html = xml;
const CAS_NS = 'http://www.yale.edu/tp/cas';

function failure(code: string, message: string) {
  return `<cas:serviceResponse xmlns:cas="${CAS_NS}">\n  <cas:authenticationFailure code="${code}">\n    ${xml(message)}\n  </cas:authenticationFailure>\n</cas:serviceResponse>\n`;
}

function success(user: string, attributes: Record<string, string | string[]> | undefined, issuedAt: number) {
  const lines = [`<cas:serviceResponse xmlns:cas="${CAS_NS}">`, '  <cas:authenticationSuccess>', `    <cas:user>${xml(user)}</cas:user>`];
  if (attributes) {
    lines.push('    <cas:attributes>');
    // what Apereo CAS adds to every 3.0 answer
    lines.push(`      <cas:authenticationDate>${new Date(issuedAt).toISOString()}</cas:authenticationDate>`);
    lines.push('      <cas:longTermAuthenticationRequestTokenUsed>false</cas:longTermAuthenticationRequestTokenUsed>');
    lines.push('      <cas:isFromNewLogin>true</cas:isFromNewLogin>');
    for (const [name, v] of Object.entries(attributes)) {
      if (!/^[A-Za-z_][\w.-]*$/.test(name)) throw new Error(`fake CAS: ${name} is not an XML name`);
      for (const value of Array.isArray(v) ? v : [v]) lines.push(`      <cas:${name}>${xml(value)}</cas:${name}>`);
    }
    lines.push('    </cas:attributes>');
  }
  lines.push('  </cas:authenticationSuccess>', '</cas:serviceResponse>', '');
  return lines.join('\n');
}

function loginForm(service: string | null, execution: string, error?: string) {
  return `<!doctype html><html><body><h1>Central Authentication Service</h1>${error ? `<p class="error">${html(error)}</p>` : ''}
<form method="post" action="login"><input type="hidden" name="service" value="${html(service ?? '')}"><input type="hidden" name="execution" value="${execution}">
<input name="username"><input type="password" name="password"><button>LOGIN</button></form></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

export async function startFakeCas(opts: FakeCasOptions) {
  const now = opts.now ?? (() => Date.now());
  const ttl = opts.ticketTtlMs ?? 5 * 60_000;
  const tickets = new Map<string, { service: string; user: string; issuedAt: number }>();
  const executions = new Set<string>();
  const validations: FakeCasValidation[] = [];
  let override: { body: string; status: number; headers: Record<string, string> } | undefined;
  let count = 0;

  function issueTicket(user: string, service: string): string {
    const ticket = `ST-${++count}-${randomBytes(15).toString('base64url')}`;
    tickets.set(ticket, { service, user, issuedAt: now() });
    return ticket;
  }
  const withTicket = (service: string, ticket: string) => `${service}${service.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}`;

  function validate(path: string, q: URLSearchParams, res: ServerResponse) {
    const send = (body: string, result: string) => {
      validations.push({ path, params: Object.fromEntries(q), result });
      res.writeHead(200, { 'content-type': 'application/xml;charset=UTF-8' }).end(body);
    };
    if (override) {
      const o = override;
      override = undefined;
      validations.push({ path, params: Object.fromEntries(q), result: 'override' });
      res.writeHead(o.status, o.headers).end(o.body);
      return;
    }
    const service = q.get('service');
    const ticket = q.get('ticket');
    if (!service || !ticket) return send(failure('INVALID_REQUEST', "'service' and 'ticket' parameters are both required"), 'INVALID_REQUEST');
    if (!ticket.startsWith('ST-')) return send(failure('INVALID_TICKET_SPEC', `Ticket '${ticket}' is not a service ticket`), 'INVALID_TICKET_SPEC');
    const t = tickets.get(ticket);
    tickets.delete(ticket); // single use: validated, refused or expired, it is spent
    if (!t || now() - t.issuedAt > ttl) return send(failure('INVALID_TICKET', `Ticket '${ticket}' not recognized`), 'INVALID_TICKET');
    if (t.service !== service) {
      return send(failure('INVALID_SERVICE', `Ticket '${ticket}' does not match supplied service. The original service was '${t.service}' and the supplied service was '${service}'.`), 'INVALID_SERVICE');
    }
    const attributes = path === '/cas/p3/serviceValidate' ? (opts.users[t.user]?.attributes ?? {}) : undefined;
    send(success(t.user, attributes, t.issuedAt), t.user);
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-cas');
    try {
      if (url.pathname === '/cas/login' && req.method === 'GET') {
        const execution = randomBytes(12).toString('hex');
        executions.add(execution);
        res.writeHead(200, { 'content-type': 'text/html;charset=UTF-8' }).end(loginForm(url.searchParams.get('service'), execution));
      } else if (url.pathname === '/cas/login' && req.method === 'POST') {
        const f = await readForm(req);
        const service = f.get('service') || null;
        const execution = f.get('execution') ?? '';
        if (!executions.delete(execution)) {
          res.writeHead(400, { 'content-type': 'text/html' }).end('<p>The login flow has expired; start again.</p>');
          return;
        }
        const user = f.get('username') ?? '';
        const u = Object.hasOwn(opts.users, user) ? opts.users[user] : undefined;
        if (!u || u.password !== f.get('password')) {
          const next = randomBytes(12).toString('hex');
          executions.add(next);
          res.writeHead(401, { 'content-type': 'text/html;charset=UTF-8' }).end(loginForm(service, next, 'Invalid credentials.'));
          return;
        }
        if (!service) {
          res.writeHead(200, { 'content-type': 'text/html' }).end('<h2>Log In Successful</h2>');
          return;
        }
        res.writeHead(302, { location: withTicket(service, issueTicket(user, service)) }).end();
      } else if ((url.pathname === '/cas/serviceValidate' || url.pathname === '/cas/p3/serviceValidate') && req.method === 'GET') {
        validate(url.pathname, url.searchParams, res);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    /** The server_url to configure. */
    url: `${origin}/cas`,
    validations,
    /** A ticket as if `user` had just signed in for `service` (another application, say). */
    issueTicket,
    /** The ticket was issued and is not spent yet. */
    isLive: (ticket: string) => tickets.has(ticket),
    /** The next validation gets this raw answer instead of the real one. */
    answerNextWith(body: string, status = 200, type = 'application/xml;charset=UTF-8', headers: Record<string, string> = {}) {
      override = { body, status, headers: { 'content-type': type, ...headers } };
    },
    /**
     * What a browser does at the CAS login page: follows `loginUrl`, fills in the form, and returns
     * where CAS sends it next (the service URL with its ticket), or the failed page's status.
     */
    async signIn(loginUrl: string, username: string, password: string): Promise<{ status: number; location: string | null }> {
      const page = await fetch(loginUrl, { redirect: 'manual' });
      const text = await page.text();
      const field = (n: string) => {
        const m = new RegExp(`name="${n}" value="([^"]*)"`).exec(text);
        return m ? m[1]!.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') : '';
      };
      const action = new URL('login', loginUrl);
      const res = await fetch(action, {
        method: 'POST', redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ service: field('service'), execution: field('execution'), username, password }).toString(),
      });
      await res.arrayBuffer();
      return { status: res.status, location: res.headers.get('location') };
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export type FakeCas = Awaited<ReturnType<typeof startFakeCas>>;
