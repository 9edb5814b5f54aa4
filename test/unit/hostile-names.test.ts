// 1,000 generated hostile user names and 1,000 server names (seeded, so every run sees the same
// ones): every Docker container name, home volume name and DNS label Berth derives from them is
// valid by the engine's own rules, and no two (user, server) pairs share one. OAuth client ids are
// JupyterHub's rule (hub-protocol A.3), which is not injective by design: they are checked to be
// valid cookie names and to clash exactly in the documented case, which the spawn refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VOLUME_NAME, containerName, dnsLabel, escapeDnsLabel, escapeDockerName, homeVolumeName, unescapeDnsLabel, unescapeDockerName,
} from '../../src/backends/docker/names.ts';
import { oauthClientId, validServerName, validUserName } from '../../src/names.ts';

// The engine's own rules.
/** moby daemon/names RestrictedNamePattern (containers; the local volume driver uses the same). */
const MOBY_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** swarmkit controlapi isValidDNSName (service names), plus its 63-character limit below. */
const SWARM_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
/** RFC 1123 label, lower case, as dnsLabel promises. */
const RFC1123_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** RFC 6265 cookie-name = RFC 2616 token: the client id is also the single-user server's cookie name. */
const COOKIE_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** mulberry32: a small seeded PRNG, so the names are the same on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)]!;
    },
    chance: (p: number) => next() < p,
  };
}

const TOKENS = {
  lower: [...'abcdefghijklmnopqrstuvwxyz0123456789'],
  upper: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  punct: ['.', '-', '_', '--', '__', '..', '-_', '_-', '@', '~', '+', '%', '%2D', '!', "'", '(', '*', ':', '#', '?', '&', '='],
  // Strings that look like the escapes themselves, and the shortening marker.
  escapes: ['_2d', '_5f', '_2e', '-2d', '-5f', '-2e', '_', '-z', '--z', '_c3_a9', '-c3-a9', '--', '_2d_2d'],
  latin: ['é', 'e\u0301', 'É', 'E\u0301', 'ß', 'ẞ', 'ſ', '\u212a' /* Kelvin K */, 'ﬁ', 'İ', 'ı', 'ǅ', 'Ω', '\u2126' /* Ohm */],
  combining: ['\u0301', '\u0308', '\u0327', '\u20dd', '\u0336\u0336', '\u034f'],
  emoji: ['🙂', '👩\u200d💻', '🏳️\u200d🌈', '👍🏽', '🇫🇷', '1️⃣', '\u{1f9d1}\u200d\u{1f91d}\u200d\u{1f9d1}'],
  rtl: ['שלום', 'مرحبا', '\u202e', '\u200f', '\u061c', 'א', 'ع', '\u202b'],
  other: ['日本', '한국어', 'Ελληνικά', 'кириллица', '\u200b', '\u200d', '\u2060', '\ufe0f', '\u00ad'],
} as const;

/** Cuts to at most `max` UTF-16 units without splitting a surrogate pair (validUserName counts units). */
function cut(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

function flipCase(s: string, r: ReturnType<typeof prng>): string {
  let out = '';
  for (const ch of s) out += r.chance(0.5) ? ch.toUpperCase() : ch.toLowerCase();
  return out;
}

function generate(count: number, seed: number, valid: (s: string) => boolean): string[] {
  const r = prng(seed);
  const kinds = Object.keys(TOKENS) as (keyof typeof TOKENS)[];
  const out: string[] = [];
  const seen = new Set<string>();
  const longBase = cut('Ü'.repeat(10) + 'very.long-name_' + '日本'.repeat(20), 120);
  const add = (s: string) => {
    if (!valid(s) || seen.has(s)) return;
    seen.add(s);
    out.push(s);
  };
  while (out.length < count) {
    const prev = out.length ? r.pick(out) : 'alice';
    switch (r.int(9)) {
      case 0: // a case variant of an earlier name
        add(flipCase(prev, r));
        break;
      case 1: // NFC / NFD of an earlier name: distinct strings that render the same
        add(prev.normalize(r.chance(0.5) ? 'NFD' : 'NFC'));
        add(prev.normalize('NFKC'));
        break;
      case 2: // an earlier name's escaped forms, as a name: escapes that look like other names
        add(escapeDockerName(prev).slice(0, 255));
        add(cut(escapeDnsLabel(prev), 255));
        add(cut(prev + r.pick(TOKENS.escapes), 255));
        break;
      case 3: { // very long, up to 255
        let s = '';
        const target = 64 + r.int(192);
        while (s.length < target) s += r.pick(TOKENS[r.pick(kinds)]);
        add(cut(s, target));
        break;
      }
      case 4: // long names sharing a long head, differing only at the end (same shortened head)
        add(cut(longBase + r.pick(TOKENS[r.pick(kinds)]) + r.int(1000), 255));
        add(cut(longBase + 'x'.repeat(r.int(135)), 255));
        break;
      case 5: // an earlier name, joined with a separator-like string
        add(cut(prev + r.pick(['-', '--', '_', '.', '-z', '--z']) + r.pick(TOKENS.lower), 255));
        break;
      default: { // a random mix of short tokens
        let s = '';
        const parts = 1 + r.int(12);
        for (let i = 0; i < parts; i++) s += r.pick(TOKENS[r.pick(kinds)]);
        add(s);
      }
    }
  }
  return out.slice(0, count);
}

const USERS = generate(1000, 0xbe47, validUserName);
const SERVERS = generate(1000, 0x5e7e, (s) => s.length > 0 && validServerName(s));

/** (user, server) pairs: each user's default server, two named ones, and hand-made clashes. */
function pairs(): [string, string][] {
  const out = new Map<string, [string, string]>();
  const add = (u: string, s: string) => {
    if (validUserName(u) && validServerName(s)) out.set(JSON.stringify([u, s]), [u, s]);
  };
  USERS.forEach((u, i) => {
    add(u, '');
    add(u, SERVERS[i]!);
    add(u, SERVERS[(i * 7 + 3) % SERVERS.length]!);
  });
  for (let i = 0; i < 200; i++) {
    const u = USERS[i]!;
    const s = SERVERS[i]!;
    add(cut(`${u}-${s}`, 255), ''); // JupyterHub's client id clash: user `u-s` vs user u's server s
    add(cut(`${u}--${s}`, 255), ''); // the container separator inside a user name
    add(u, `-${s}`);
    add(`${u}-`, s);
  }
  // Look-alikes of shortened names: pairs whose plain escaped name spells a shortened one's head,
  // marker and digest (with the separator, or inside the user name).
  for (const [u, s] of [...out.values()].slice(0, 400)) {
    const c = containerName('jupyter', u, s).slice('jupyter-'.length);
    const l = dnsLabel('jupyter', u, s).slice('jupyter-'.length);
    const cm = c.lastIndexOf('-z');
    const lm = l.lastIndexOf('-z');
    if (cm >= 0) {
      const head = c.slice(0, cm).replace(/_[0-9a-f]?$/, ''); // not a cut escape
      add(unescapeDockerName(head), `z${c.slice(cm + 2)}`);
      add(unescapeDockerName(head) + c.slice(cm), '');
      add(c, '');
    }
    if (lm >= 0) {
      const head = l.slice(0, lm).replace(/-[0-9a-f]?$/, '');
      add(unescapeDnsLabel(head), `z${l.slice(lm + 2)}`);
      add(unescapeDnsLabel(head) + l.slice(lm), '');
      add(l, '');
    }
  }
  for (const [u, s] of [['a', 'b--c'], ['a--b', 'c'], ['a-', '-b'], ['a', '_2db'], ['a_2d', 'b'], ['a', '-2db'], ['a-2d', 'b'], ['a', 'z'], ['a-', 'z'], ['a', '-z']] as const) add(u, s);
  return [...out.values()];
}

/** Fails with the clashing pairs if `name` gives one name to two pairs; returns how many names. */
function assertInjective(what: string, items: [string, string][], name: (u: string, s: string) => string): number {
  const owner = new Map<string, [string, string]>();
  for (const [u, s] of items) {
    const n = name(u, s);
    const other = owner.get(n);
    if (other) assert.fail(`${what}: ${JSON.stringify(other)} and ${JSON.stringify([u, s])} both get ${n}`);
    owner.set(n, [u, s]);
  }
  return owner.size;
}

test('1,000 hostile user names and 1,000 server names: the generator makes what it should', (t) => {
  assert.equal(new Set(USERS).size, 1000);
  assert.equal(new Set(SERVERS).size, 1000);
  for (const u of USERS) assert.ok(validUserName(u), JSON.stringify(u));
  const has = (re: RegExp) => USERS.filter((u) => re.test(u)).length;
  const long = USERS.filter((u) => u.length > 200).length;
  const folded = new Set(USERS.map((u) => u.toLowerCase().normalize('NFC'))).size;
  t.diagnostic(`users: ${has(/\p{Extended_Pictographic}/u)} with emoji, ${has(/\p{M}/u)} with combining marks, ${has(/[\u0590-\u08ff\u200f\u202b\u202e]/)} with RTL, ${has(/--/)} with '--', ${has(/[._]/)} with '.' or '_', ${long} longer than 200, max length ${Math.max(...USERS.map((u) => u.length))}; ${1000 - folded} differ from another only by case or normalisation`);
  // Each kind of hostility is really there in numbers.
  for (const [what, n] of [['emoji', has(/\p{Extended_Pictographic}/u)], ['combining', has(/\p{M}/u)], ['rtl', has(/[\u0590-\u08ff]/)], ['--', has(/--/)], ['long', long], ['case/normalisation twins', 1000 - folded]] as const) {
    assert.ok(n >= 30, `${what}: only ${n}`);
  }
  assert.ok(Math.max(...USERS.map((u) => u.length)) === 255 || USERS.some((u) => u.length >= 250));
});

test('container names, home volumes and DNS labels are valid Docker/DNS names and pairwise distinct', (t) => {
  const all = pairs();
  assert.ok(all.length >= 3500, String(all.length));

  const containers = assertInjective('container name', all, (u, s) => containerName('jupyter', u, s));
  const labels = assertInjective('DNS label', all, (u, s) => dnsLabel('jupyter', u, s));
  let shortenedContainers = 0;
  let shortenedLabels = 0;
  for (const [u, s] of all) {
    const c = containerName('jupyter', u, s);
    assert.match(c, MOBY_NAME, c);
    assert.ok(c.length <= 63, c);
    if (c !== `jupyter-${escapeDockerName(u)}${s ? `--${escapeDockerName(s)}` : ''}`) shortenedContainers++;
    const l = dnsLabel('jupyter', u, s);
    assert.match(l, RFC1123_LABEL, l);
    assert.match(l, SWARM_NAME, l);
    assert.ok(l.length <= 63, l);
    if (l !== `jupyter-${escapeDnsLabel(u)}${s ? `--${escapeDnsLabel(s)}` : ''}`) shortenedLabels++;
  }

  // Home volumes depend on the user only: distinct across users, for several templates.
  const users = [...new Set(all.map(([u]) => u))];
  const templates = ['jupyter-{username}', 'berth-home-{username}-data', '{username}.home', 'h-{username}-{username}'];
  const volumeCounts: string[] = [];
  for (const template of templates) {
    const n = assertInjective(`volume ${template}`, users.map((u) => [u, ''] as [string, string]), (u) => homeVolumeName(template, u));
    let refused = 0;
    for (const u of users) {
      const v = homeVolumeName(template, u);
      assert.ok(v.length <= 255, v);
      // A template that starts with {username} can give '_…', which Docker refuses: the backend checks.
      if (template.startsWith('{username}') && v.startsWith('_')) {
        assert.doesNotMatch(v, VOLUME_NAME);
        refused++;
      } else {
        assert.match(v, MOBY_NAME, v);
        assert.match(v, VOLUME_NAME, v);
      }
    }
    volumeCounts.push(`${template}: ${n} distinct${refused ? `, ${refused} refused by the backend's check (user starting with an escape)` : ''}`);
  }
  t.diagnostic(`${all.length} (user, server) pairs from ${users.length} users: ${containers} distinct container names (${shortenedContainers} shortened), ${labels} distinct DNS labels (${shortenedLabels} shortened)`);
  t.diagnostic(`home volumes — ${volumeCounts.join('; ')}`);
});

test('OAuth client ids: valid cookie names, equal only in JupyterHub\'s documented clash', (t) => {
  const all = pairs();
  // quote() keeps '-', so the id is jupyterhub-user-quote(`${user}-${server}`): equal ids exactly when
  // the joined strings are equal. The spawn refuses the second of such a pair (credentials.ts).
  const joined = (u: string, s: string) => (s ? `${u}-${s}` : u);
  const byId = new Map<string, [string, string]>();
  let clashes = 0;
  for (const [u, s] of all) {
    const id = oauthClientId(u, s);
    assert.match(id, COOKIE_TOKEN, id);
    assert.ok(id.startsWith('jupyterhub-user-'));
    const other = byId.get(id);
    if (other) {
      assert.equal(joined(...other), joined(u, s), `${JSON.stringify(other)} and ${JSON.stringify([u, s])} share ${id}`);
      clashes++;
    } else byId.set(id, [u, s]);
  }
  // And the other way round: different joined strings never share an id.
  assert.equal(byId.size, new Set(all.map(([u, s]) => joined(u, s))).size);
  assert.ok(clashes >= 100, `the hand-made clashes are there: ${clashes}`);
  t.diagnostic(`${all.length} pairs: ${byId.size} distinct OAuth client ids; ${clashes} pairs share one with another pair, all of the form user "a-b" vs user "a" server "b"`);
});

test('the pinned names of ordinary users are what earlier versions made', () => {
  // Computed with the code before the length limits; see names.test.ts for the full table.
  assert.equal(containerName('jupyter', 'alice', ''), 'jupyter-alice');
  assert.equal(containerName('jupyter', 'Bob.Smith', 'my lab'), 'jupyter-_42ob_2e_53mith--my_20lab');
  assert.equal(containerName('jupyter', 'john.doe@example.org', ''), 'jupyter-john_2edoe_40example_2eorg');
  assert.equal(homeVolumeName('jupyter-{username}', 'maria-jose'), 'jupyter-maria_2djose');
  assert.equal(homeVolumeName('jupyter-{username}', '日本'), 'jupyter-_e6_97_a5_e6_9c_ac');
  assert.equal(oauthClientId('alice', ''), 'jupyterhub-user-alice');
  assert.equal(oauthClientId('a@b.c', 'srv1'), 'jupyterhub-user-a%40b.c-srv1');
});

test('names with a lone surrogate are refused at the door (they would break escapePath and the OAuth client id at spawn)', () => {
  for (const bad of ['\ud800', 'a\udc00b', 'x\ud83d']) {
    assert.equal(validUserName(bad), false, JSON.stringify(bad));
    assert.equal(validServerName(bad), false, JSON.stringify(bad));
  }
  assert.equal(validUserName('a😀'), true);
});
