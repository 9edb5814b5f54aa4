// Reads a CAS serviceValidate answer (CAS protocol 2.0 and 3.0, Apereo's spec §2.5 and §2.6):
//   <cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
//     <cas:authenticationSuccess><cas:user>…</cas:user><cas:attributes>…</cas:attributes>…
//     | <cas:authenticationFailure code="INVALID_TICKET">message</cas:authenticationFailure>
// Anything else (another root, another namespace, no user, a document refused below) is a
// CasResponseError: the server misbehaved, which is not the same as it saying no.
//
// The XML itself is read by fast-xml-parser: XMLValidator for well-formedness (mismatched and
// unclosed tags, text before the root, names, duplicate or unquoted attributes, bare "&"), then
// XMLParser in preserveOrder mode, which keeps every element, text and CDATA piece in document
// order. What the library does not do, this file does on top, in a few lines each:
//   - refuses any markup declaration (<!DOCTYPE, <!ENTITY, …) before parsing: CAS never sends one,
//     so there is no DTD, no entity expansion (billion laughs) and no external entity, ever;
//   - decodes entities through its `entityDecoder` hook: the five XML predefines and character
//     references only; any other entity, a bare "&", or a reference to a character XML forbids
//     refuses the document (the library would leave them as literal text);
//   - resolves namespace prefixes from the xmlns attributes the parser keeps (it only has
//     removeNSPrefix, which would accept <evil:user> as <cas:user>), so any prefix bound to the
//     CAS namespace, or the default namespace, is read as CAS — and unbound prefixes are refused;
//   - refuses what the validator lets through: a second root after a self-closing one, text after
//     a self-closing root, processing instructions, a declared encoding other than UTF-8,
//     characters XML forbids, and documents past the size and element limits.
import { createRequire } from 'node:module';
import type { XMLParser, X2jOptions } from 'fast-xml-parser';

type Fxp = typeof import('fast-xml-parser');

export const CAS_NS = 'http://www.yale.edu/tp/cas';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** A serviceValidate answer is a few hundred bytes; these are far past any real one. */
export const XML_LIMITS = { chars: 1 << 20, depth: 32, elements: 10_000 };

export type CasValidation =
  | {
      ok: true;
      user: string;
      /** Attribute name (local name) → its values in document order; multi-valued attributes repeat the element. */
      attributes: Record<string, string[]>;
    }
  | { ok: false; code: string; message: string };

export class CasResponseError extends Error {
  override name = 'CasResponseError';
}

function refuse(why: string): never {
  throw new CasResponseError(`not a well-formed CAS answer: ${why}`);
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function validCodePoint(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

// fast-xml-parser's entityDecoder hook: called on every text piece (not CDATA) and attribute value.
const strictEntities = {
  decode: (s: string): string =>
    s.includes('&')
      ? s.replace(/&([^;&\s]{0,12});?/g, (whole, body: string) => {
          if (!whole.endsWith(';')) refuse('a bare "&" (write &amp;)');
          if (Object.hasOwn(PREDEFINED, body)) return PREDEFINED[body]!;
          const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
          if (!m) refuse(`the entity &${body}; is not one XML predefines (and DTDs are refused)`);
          const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
          if (!validCodePoint(cp)) refuse(`the character reference &${body}; is not a character XML allows`);
          return String.fromCodePoint(cp);
        })
      : s,
  // only ever called with a DOCTYPE's entity declarations, which are refused before parsing anyway
  addInputEntities: () => refuse('entity declarations'),
  setExternalEntities: () => {},
  reset: () => {},
  setXmlVersion: () => {},
};

const PARSER_OPTIONS: X2jOptions = {
  preserveOrder: true, // [{ name: [children…], ':@': { '@_attr': value } }, { '#text': … }], in document order
  ignoreAttributes: false, // the failure's code, and the xmlns declarations namespaces are resolved from
  removeNSPrefix: false, // prefixes are resolved below, never dropped
  parseTagValue: false, // "00123" stays a string
  parseAttributeValue: false,
  trimValues: false, // text is joined per element, then trimmed, as the spec's examples need
  processEntities: true, // through strictEntities, and only that
  htmlEntities: false,
  entityDecoder: strictEntities,
  ignoreDeclaration: false, // kept so its encoding can be checked
  ignorePiTags: false, // kept so they can be refused
  maxNestedTags: XML_LIMITS.depth - 1, // the library lets one level past this through
  // Keep names as written (the default renames an element called toString to __toString). Safe here:
  // with preserveOrder every node is a fresh object whose keys are only read with Object.keys.
  // (constructor, prototype and __proto__ without a prefix still make the library refuse the document.)
  onDangerousProperty: (name: string) => name,
};

/**
 * The library, at the first CAS answer rather than when Berth starts: most sites configure no CAS
 * login, and it is several MiB of an idle `berth serve`. Its CommonJS build, so this stays synchronous.
 */
let xml: { parser: XMLParser; validator: Fxp['XMLValidator'] } | undefined;
function library() {
  if (!xml) {
    const lib = createRequire(import.meta.url)('fast-xml-parser') as Fxp;
    xml = { parser: new lib.XMLParser(PARSER_OPTIONS), validator: lib.XMLValidator };
  }
  return xml;
}

// Characters XML 1.0 allows: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF.
const BAD_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** An element with its namespace resolved (`ns` undefined: no namespace). */
interface XmlElement {
  /** The qualified name as written (`cas:user`). */
  name: string;
  local: string;
  ns: string | undefined;
  /** Attributes by qualified name as written (xmlns declarations excluded), entities decoded. */
  attrs: Record<string, string>;
  children: Array<XmlElement | string>;
}

type Scope = Map<string | undefined, string | undefined>;
type FxpNode = Record<string, unknown>;

function splitName(qname: string): { prefix: string | undefined; local: string } {
  const parts = qname.split(':');
  if (parts.length > 2 || parts.some((p) => !p)) refuse(`"${qname.slice(0, 40)}" is not a namespace-well-formed name`);
  return parts.length === 2 ? { prefix: parts[0]!, local: parts[1]! } : { prefix: undefined, local: parts[0]! };
}

/** Turns the parser's ordered nodes into elements with namespaces resolved, counting elements. */
function toTree(nodes: FxpNode[], parentScope: Scope, count: { elements: number }): Array<XmlElement | string> {
  const out: Array<XmlElement | string> = [];
  for (const node of nodes) {
    if (Object.hasOwn(node, '#text')) {
      out.push(String(node['#text']));
      continue;
    }
    const qname = Object.keys(node).find((k) => k !== ':@')!;
    if (qname.startsWith('?')) refuse('a processing instruction');
    if (++count.elements > XML_LIMITS.elements) refuse(`more than ${XML_LIMITS.elements} elements`);
    let scope = parentScope;
    const attrs: Record<string, string> = Object.create(null);
    for (const [key, value] of Object.entries((node[':@'] ?? {}) as Record<string, string>)) {
      const an = key.slice(2); // attributeNamePrefix '@_'
      if (an === 'xmlns' || an.startsWith('xmlns:')) {
        const prefix = an === 'xmlns' ? undefined : splitName(an).local;
        if (prefix !== undefined && (prefix === 'xmlns' || !value)) refuse(`the namespace declaration ${an} is not allowed`);
        if (scope === parentScope) scope = new Map(parentScope);
        scope.set(prefix, value || undefined);
      } else {
        attrs[an] = value;
      }
    }
    for (const an of Object.keys(attrs)) {
      const p = splitName(an).prefix;
      if (p !== undefined && !scope.has(p)) refuse(`the prefix "${p.slice(0, 40)}" is not bound to a namespace`);
    }
    const { prefix, local } = splitName(qname);
    if (prefix !== undefined && !scope.has(prefix)) refuse(`the prefix "${prefix.slice(0, 40)}" is not bound to a namespace`);
    out.push({ name: qname, local, ns: scope.get(prefix), attrs, children: toTree(node[qname] as FxpNode[], scope, count) });
  }
  return out;
}

/** Parses a whole document to its root element. Throws CasResponseError on anything it does not accept. */
function parseXml(input: string): XmlElement {
  if (input.length > XML_LIMITS.chars) refuse(`the document is over ${XML_LIMITS.chars} characters`);
  const src = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  // Before the library sees it: comments and CDATA are the only <! the document may hold.
  if (/<!(?!--|\[CDATA\[)/.test(src)) refuse(/<!DOCTYPE/i.test(src) ? 'a DOCTYPE (DTDs and entity declarations are refused)' : 'a markup declaration');
  if (BAD_CHAR.test(src)) refuse('a character XML does not allow');
  const { parser, validator } = library();
  const valid = validator.validate(src);
  if (valid !== true) refuse(valid.err.msg);
  // the validator lets text after a self-closing root through, and the parser drops it
  if (!src.trimEnd().endsWith('>')) refuse('text outside the root element');
  let nodes: FxpNode[];
  try {
    nodes = parser.parse(src) as FxpNode[];
  } catch (err) {
    if (err instanceof CasResponseError) throw err;
    return refuse(String((err as Error)?.message ?? err));
  }
  const first = nodes[0];
  if (first && Object.hasOwn(first, '?xml')) {
    // what fetch decoded the body as; another declared encoding means the text is not what was sent
    const enc = (first[':@'] as Record<string, string> | undefined)?.['@_encoding'];
    if (enc !== undefined && !/^utf-?8$/i.test(enc)) refuse(`the document's encoding "${enc.slice(0, 20)}" is not UTF-8`);
    nodes = nodes.slice(1);
  }
  const top = toTree(nodes, new Map([['xml', XML_NS]]), { elements: 0 });
  if (top.some((n) => typeof n === 'string' && n.trim())) refuse('text outside the root element');
  const roots = top.filter((n): n is XmlElement => typeof n !== 'string');
  if (roots.length !== 1) refuse(roots.length ? 'more than one root element' : 'no root element');
  return roots[0]!;
}

/** The element children of `el`. */
const childElements = (el: XmlElement) => el.children.filter((c): c is XmlElement => typeof c !== 'string');

/** The text directly inside `el` (text and CDATA, not that of child elements). */
const ownText = (el: XmlElement) => el.children.filter((c): c is string => typeof c === 'string').join('');

const isCas = (el: XmlElement, local: string) => el.ns === CAS_NS && el.local === local;

/** Parses the answer's text. Throws CasResponseError when it is not a serviceResponse. */
export function parseServiceResponse(body: string): CasValidation {
  const root = parseXml(body);
  if (!isCas(root, 'serviceResponse')) throw new CasResponseError(`the answer's root is <${root.name.slice(0, 40)}>, not a cas:serviceResponse`);
  const [result, ...rest] = childElements(root);
  if (!result || rest.length) throw new CasResponseError('a cas:serviceResponse holds exactly one result');
  if (isCas(result, 'authenticationFailure')) {
    const code = (result.attrs.code ?? '').trim();
    return { ok: false, code: code.slice(0, 64) || 'UNKNOWN', message: ownText(result).trim().replace(/\s+/g, ' ').slice(0, 300) };
  }
  if (!isCas(result, 'authenticationSuccess')) throw new CasResponseError(`unexpected <${result.name.slice(0, 40)}> in the cas:serviceResponse`);
  const parts = childElements(result);
  const users = parts.filter((e) => isCas(e, 'user'));
  const user = users.length === 1 ? ownText(users[0]!).trim() : '';
  if (!user || childElements(users[0]!).length) throw new CasResponseError('the cas:authenticationSuccess has no single cas:user with a name');
  // no prototype: an attribute called "constructor" or "__proto__" is just a name
  const attributes: Record<string, string[]> = Object.create(null);
  for (const block of parts.filter((e) => isCas(e, 'attributes'))) {
    for (const a of childElements(block)) {
      // a structured value is not something a rule or group can match; leave it out rather than flatten it
      if (childElements(a).length) continue;
      (attributes[a.local] ??= []).push(ownText(a).trim());
    }
  }
  return { ok: true, user, attributes };
}
