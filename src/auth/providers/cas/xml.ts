// A strict, minimal XML reader for one small document from a CAS server (the serviceValidate
// answer). No XML library is installed, so this reads only what such an answer needs: elements,
// attributes, namespaces, text, CDATA, comments, the five predefined entities and character
// references. It refuses, rather than guesses at, anything else: a DOCTYPE (so no entity expansion
// and no external entities, ever), processing instructions other than the XML declaration,
// unknown entities, unbound prefixes, mismatched tags, characters XML forbids, and documents past
// the size, depth and element limits below.

/** An element with its namespace resolved (`ns` undefined: no namespace). */
export interface XmlElement {
  /** The qualified name as written (`cas:user`). */
  name: string;
  local: string;
  ns: string | undefined;
  /** Attributes by qualified name as written (xmlns declarations excluded), entities decoded. */
  attrs: Record<string, string>;
  children: Array<XmlElement | string>;
}

export class XmlError extends Error {
  override name = 'XmlError';
}

export const XML_LIMITS = { chars: 1 << 20, depth: 32, elements: 10_000 };

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
// A practical subset of XML's Name production: ASCII letters, _, and anything past U+00BF to start;
// digits, '.', '-' and U+00B7 after. A colon only as the one prefix separator.
const NCNAME = /^[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7-\uFFFF]*$/u;
// Characters XML 1.0 allows: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF.
const BAD_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function validCodePoint(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Decodes the five predefined entities and numeric references; anything else is refused. */
export function decodeEntities(s: string): string {
  return s.replace(/&([^;&\s]{0,12});?/g, (whole, body: string) => {
    if (!whole.endsWith(';')) throw new XmlError(`a bare "&" (write &amp;)`);
    if (body in PREDEFINED) return PREDEFINED[body]!;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
    if (!m) throw new XmlError(`the entity &${body}; is not one XML predefines (and DTDs are refused)`);
    const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
    if (!validCodePoint(cp)) throw new XmlError(`the character reference &${body}; is not a character XML allows`);
    return String.fromCodePoint(cp);
  });
}

function splitName(qname: string): { prefix: string | undefined; local: string } {
  const parts = qname.split(':');
  if (parts.length > 2 || !parts.every((p) => NCNAME.test(p))) throw new XmlError(`"${qname.slice(0, 40)}" is not an XML name`);
  return parts.length === 2 ? { prefix: parts[0]!, local: parts[1]! } : { prefix: undefined, local: parts[0]! };
}

// sticky: each matches exactly at lastIndex, never scanning ahead
const END_TAG = /<\/([^\s>]+)\s*>/y;
const START_TAG = /<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;

/** Parses a whole document to its root element. Throws XmlError on anything it does not accept. */
export function parseXml(input: string): XmlElement {
  if (input.length > XML_LIMITS.chars) throw new XmlError(`the document is over ${XML_LIMITS.chars} characters`);
  let src = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (BAD_CHAR.test(src)) throw new XmlError('the document has a character XML does not allow');
  // The XML declaration, only at the very start, and only version 1.0 in UTF-8 (what fetch decoded).
  const decl = /^<\?xml(\s[^?]*)?\?>/.exec(src);
  if (decl) {
    const enc = /encoding\s*=\s*["']([^"']+)["']/.exec(decl[1] ?? '');
    if (enc && !/^utf-?8$/i.test(enc[1]!)) throw new XmlError(`the document's encoding "${enc[1]!.slice(0, 20)}" is not UTF-8`);
    src = src.slice(decl[0].length);
  }

  let pos = 0;
  let elements = 0;
  let root: XmlElement | undefined;
  // open elements and, beside each, the namespace bindings in scope inside it
  const stack: Array<{ el: XmlElement; scope: Map<string | undefined, string | undefined> }> = [];
  const topScope = new Map<string | undefined, string | undefined>([['xml', XML_NS]]);

  const addText = (text: string) => {
    const top = stack[stack.length - 1];
    if (!top) {
      if (text.trim()) throw new XmlError('text outside the root element');
      return;
    }
    const last = top.el.children[top.el.children.length - 1];
    if (typeof last === 'string') top.el.children[top.el.children.length - 1] = last + text;
    else top.el.children.push(text);
  };

  while (pos < src.length) {
    const lt = src.indexOf('<', pos);
    if (lt === -1) { addText(decodeEntities(src.slice(pos))); break; }
    if (lt > pos) {
      const raw = src.slice(pos, lt);
      if (raw.includes(']]>')) throw new XmlError('"]]>" in text');
      addText(decodeEntities(raw));
    }
    pos = lt;
    if (src.startsWith('<!--', pos)) {
      const end = src.indexOf('-->', pos + 4);
      if (end === -1) throw new XmlError('an unclosed comment');
      if (src.slice(pos + 4, end).includes('--')) throw new XmlError('"--" inside a comment');
      pos = end + 3;
      continue;
    }
    if (src.startsWith('<![CDATA[', pos)) {
      if (!stack.length) throw new XmlError('CDATA outside the root element');
      const end = src.indexOf(']]>', pos + 9);
      if (end === -1) throw new XmlError('an unclosed CDATA section');
      addText(src.slice(pos + 9, end));
      pos = end + 3;
      continue;
    }
    if (src.startsWith('<!', pos)) throw new XmlError(src.startsWith('<!DOCTYPE', pos) ? 'a DOCTYPE (DTDs and entity declarations are refused)' : 'a markup declaration');
    if (src.startsWith('<?', pos)) throw new XmlError('a processing instruction');
    if (src.startsWith('</', pos)) {
      END_TAG.lastIndex = pos;
      const m = END_TAG.exec(src);
      if (!m) throw new XmlError('a malformed end tag');
      const top = stack.pop();
      if (!top || top.el.name !== m[1]) throw new XmlError(`</${m[1]!.slice(0, 40)}> does not close ${top ? `<${top.el.name}>` : 'anything'}`);
      pos += m[0].length;
      continue;
    }
    // a start tag: name, attributes, then > or />
    START_TAG.lastIndex = pos;
    const tag = START_TAG.exec(src);
    if (!tag) throw new XmlError('a malformed start tag');
    if (root && !stack.length) throw new XmlError('more than one root element');
    if (++elements > XML_LIMITS.elements) throw new XmlError(`more than ${XML_LIMITS.elements} elements`);
    if (stack.length >= XML_LIMITS.depth) throw new XmlError(`elements nested deeper than ${XML_LIMITS.depth}`);
    const qname = tag[1]!;
    const rawAttrs: Array<[string, string]> = [];
    const seen = new Set<string>();
    for (const a of tag[2]!.matchAll(/([^\s=/>]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/g)) {
      const [, an, dq, sq] = a;
      if (seen.has(an!)) throw new XmlError(`the attribute ${an!.slice(0, 40)} is given twice`);
      seen.add(an!);
      rawAttrs.push([an!, decodeEntities(dq ?? sq ?? '')]);
    }
    const parentScope = stack[stack.length - 1]?.scope ?? topScope;
    let scope = parentScope;
    const attrs: Record<string, string> = {};
    for (const [an, value] of rawAttrs) {
      const isDefault = an === 'xmlns';
      const { prefix, local } = isDefault ? { prefix: undefined, local: '' } : splitName(an);
      if (isDefault || prefix === 'xmlns') {
        if (scope === parentScope) scope = new Map(parentScope);
        if (!isDefault && (local === 'xmlns' || !value)) throw new XmlError(`the namespace declaration ${an} is not allowed`);
        scope.set(isDefault ? undefined : local, value || undefined);
      } else {
        attrs[an] = value;
      }
    }
    const { prefix, local } = splitName(qname);
    if (prefix !== undefined && !scope.has(prefix)) throw new XmlError(`the prefix "${prefix.slice(0, 40)}" is not bound to a namespace`);
    for (const an of Object.keys(attrs)) {
      const p = splitName(an).prefix;
      if (p !== undefined && !scope.has(p)) throw new XmlError(`the prefix "${p.slice(0, 40)}" is not bound to a namespace`);
    }
    const el: XmlElement = { name: qname, local, ns: scope.get(prefix), attrs, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.el.children.push(el);
    else root = el;
    if (!tag[3]) stack.push({ el, scope });
    pos += tag[0].length;
  }
  if (stack.length) throw new XmlError(`<${stack[stack.length - 1]!.el.name}> is never closed`);
  if (!root) throw new XmlError('no root element');
  return root;
}

/** The element children of `el`. */
export const childElements = (el: XmlElement) => el.children.filter((c): c is XmlElement => typeof c !== 'string');

/** The text directly inside `el` (text and CDATA, not that of child elements). */
export const ownText = (el: XmlElement) => el.children.filter((c): c is string => typeof c === 'string').join('');
