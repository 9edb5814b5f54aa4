// Reading serviceValidate answers: the CAS protocol spec's own examples, and what is not an answer.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CAS_NS, CasResponseError, parseServiceResponse, XML_LIMITS } from './response.ts';

const NS = 'xmlns:cas="http://www.yale.edu/tp/cas"';
/** A 3.0 success around `user` (raw XML) and `rest` (more of the success, raw XML). */
const success = (user: string, rest = '') => `<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>${user}</cas:user>${rest}</cas:authenticationSuccess></cas:serviceResponse>`;
const attrs = (inner: string) => `<cas:attributes>${inner}</cas:attributes>`;
const userOf = (doc: string) => {
  const r = parseServiceResponse(doc);
  assert.ok(r.ok);
  return r.user;
};
const refuses = (doc: string, why: RegExp) =>
  assert.throws(() => parseServiceResponse(doc), (e: unknown) => e instanceof CasResponseError && why.test(e.message), `expected a refusal matching ${why}`);

describe('parseServiceResponse', () => {
  test('the spec\'s 3.0 success example: user and attributes, multi-valued ones gathered in order', () => {
    const r = parseServiceResponse(`<cas:serviceResponse ${NS}>
 <cas:authenticationSuccess>
  <cas:user>username</cas:user>
  <cas:attributes>
    <cas:firstname>John</cas:firstname>
    <cas:lastname>Doe</cas:lastname>
    <cas:title>Mr.</cas:title>
    <cas:email>jdoe@example.org</cas:email>
    <cas:affiliation>staff</cas:affiliation>
    <cas:affiliation>faculty</cas:affiliation>
  </cas:attributes>
  <cas:proxyGrantingTicket>PGTIOU-84678-8a9d...</cas:proxyGrantingTicket>
 </cas:authenticationSuccess>
</cas:serviceResponse>`);
    assert.ok(r.ok);
    assert.equal(r.user, 'username');
    assert.deepEqual({ ...r.attributes }, { firstname: ['John'], lastname: ['Doe'], title: ['Mr.'], email: ['jdoe@example.org'], affiliation: ['staff', 'faculty'] });
  });

  test('a 2.0 success: the user, no attributes', () => {
    const r = parseServiceResponse(`<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>jdoe</cas:user></cas:authenticationSuccess></cas:serviceResponse>`);
    assert.ok(r.ok);
    assert.equal(r.user, 'jdoe');
    assert.deepEqual({ ...r.attributes }, {});
  });

  test('the spec\'s failure example: its code and message', () => {
    const r = parseServiceResponse(`<cas:serviceResponse ${NS}>
 <cas:authenticationFailure code="INVALID_TICKET">
    Ticket ST-1856339-aA5Yuvrxzpv8Tau1cYQ7 not recognized
  </cas:authenticationFailure>
</cas:serviceResponse>`);
    assert.deepEqual(r, { ok: false, code: 'INVALID_TICKET', message: 'Ticket ST-1856339-aA5Yuvrxzpv8Tau1cYQ7 not recognized' });
  });

  test('a failure without a code is UNKNOWN', () => {
    const r = parseServiceResponse(`<cas:serviceResponse ${NS}><cas:authenticationFailure>no</cas:authenticationFailure></cas:serviceResponse>`);
    assert.deepEqual(r, { ok: false, code: 'UNKNOWN', message: 'no' });
  });

  test('any prefix bound to the CAS namespace will do; escaped values, CDATA and odd attribute names read right', () => {
    const r = parseServiceResponse(`<?xml version="1.0" encoding="UTF-8"?><c:serviceResponse xmlns:c="http://www.yale.edu/tp/cas"><c:authenticationSuccess>
<c:user>o&apos;brien</c:user><c:attributes><c:memberOf>R&amp;D &lt;lab&gt;</c:memberOf><c:memberOf><![CDATA[a<b]]></c:memberOf>
<c:constructor>x</c:constructor><c:__proto__>y</c:__proto__></c:attributes></c:authenticationSuccess></c:serviceResponse>`);
    assert.ok(r.ok);
    assert.equal(r.user, "o'brien");
    assert.deepEqual(r.attributes.memberOf, ['R&D <lab>', 'a<b']);
    assert.deepEqual(r.attributes.constructor, ['x']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(r.attributes, '__proto__')?.value, ['y']);
  });

  test('a structured attribute value is left out rather than flattened', () => {
    const r = parseServiceResponse(`<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>u</cas:user><cas:attributes><cas:a><cas:b>1</cas:b></cas:a><cas:c>2</cas:c></cas:attributes></cas:authenticationSuccess></cas:serviceResponse>`);
    assert.ok(r.ok);
    assert.deepEqual({ ...r.attributes }, { c: ['2'] });
  });

  for (const [why, body] of [
    ['not XML', '<html><body>Maintenance</body>'],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY a "b">]><cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>&a;</cas:user></cas:authenticationSuccess></cas:serviceResponse>`],
    ['another root', `<cas:other ${NS}/>`],
    ['the right names in no namespace', '<serviceResponse><authenticationSuccess><user>u</user></authenticationSuccess></serviceResponse>'],
    ['the right names in another namespace', '<cas:serviceResponse xmlns:cas="urn:evil"><cas:authenticationSuccess><cas:user>u</cas:user></cas:authenticationSuccess></cas:serviceResponse>'],
    ['no result', `<cas:serviceResponse ${NS}/>`],
    ['two results', `<cas:serviceResponse ${NS}><cas:authenticationFailure code="X"/><cas:authenticationSuccess><cas:user>u</cas:user></cas:authenticationSuccess></cas:serviceResponse>`],
    ['a proxy answer', `<cas:serviceResponse ${NS}><cas:proxySuccess><cas:proxyTicket>PT-1</cas:proxyTicket></cas:proxySuccess></cas:serviceResponse>`],
    ['no user', `<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:attributes/></cas:authenticationSuccess></cas:serviceResponse>`],
    ['an empty user', `<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>  </cas:user></cas:authenticationSuccess></cas:serviceResponse>`],
    ['two users', `<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>a</cas:user><cas:user>b</cas:user></cas:authenticationSuccess></cas:serviceResponse>`],
    ['markup inside the user', `<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>a<cas:b/></cas:user></cas:authenticationSuccess></cas:serviceResponse>`],
  ] as const) {
    test(`${why} is not an answer`, () => {
      assert.throws(() => parseServiceResponse(body), CasResponseError);
    });
  }
});

// The XML under the answer, read by fast-xml-parser with the settings in response.ts. Each hostile
// document below is a valid answer (the control: `success('u')` reads as user u) with one thing wrong.
describe('parseServiceResponse reads the XML exactly', () => {
  test('the control document reads', () => {
    assert.equal(userOf(success('u')), 'u');
  });

  test('the five predefined entities and decimal and hex character references, in text and in attributes', () => {
    assert.equal(userOf(success('&quot;&amp;&lt;&gt;&apos;&#65;&#x1F600;')), `"&<>'A😀`);
    const r = parseServiceResponse(`<cas:serviceResponse ${NS}><cas:authenticationFailure code="A&amp;B&#x43;&#68;">&lt;b&gt; &#233;&#x2615;</cas:authenticationFailure></cas:serviceResponse>`);
    assert.deepEqual(r, { ok: false, code: 'A&BCD', message: '<b> é☕' });
  });

  test('CDATA is text taken as written; text, entity and CDATA pieces join, then the whole is trimmed', () => {
    assert.equal(userOf(success('<![CDATA[&amp; <x>]]>')), '&amp; <x>');
    assert.equal(userOf(success('a&amp;<![CDATA[b]]>c')), 'a&bc');
    assert.equal(userOf(success('a <![CDATA[ b ]]> c')), 'a  b  c');
    assert.equal(userOf(success('\n   jdoe\t\n ')), 'jdoe');
  });

  test('values stay strings: nothing is read as a number or a boolean', () => {
    const r = parseServiceResponse(success('00123', attrs('<cas:n>1e3</cas:n><cas:b>true</cas:b><cas:h>0x10</cas:h>')));
    assert.ok(r.ok);
    assert.equal(r.user, '00123');
    assert.deepEqual({ ...r.attributes }, { n: ['1e3'], b: ['true'], h: ['0x10'] });
  });

  test('comments anywhere, a BOM, the XML declaration, whitespace around the root, CRLF line ends', () => {
    const doc = `\uFEFF<?xml version="1.0" encoding="utf-8"?>\r\n<!-- before -->\r\n<cas:serviceResponse ${NS}><!-- a --><cas:authenticationSuccess>\r\n<cas:user>jd<!-- inside -->oe</cas:user>${attrs('<cas:x>1</cas:x><!-- b --><cas:empty/>')}</cas:authenticationSuccess></cas:serviceResponse>\r\n<!-- after -->\r\n`;
    const r = parseServiceResponse(doc);
    assert.ok(r.ok);
    assert.equal(r.user, 'jdoe');
    assert.deepEqual({ ...r.attributes }, { x: ['1'], empty: [''] });
  });

  test('repeated attribute elements become lists in document order, even interleaved with others', () => {
    const many = Array.from({ length: 300 }, (_, i) => `<cas:memberOf>g${i}</cas:memberOf><cas:mail>m${i}</cas:mail>`).join('');
    const r = parseServiceResponse(success('u', attrs(many)));
    assert.ok(r.ok);
    assert.deepEqual(r.attributes.memberOf, Array.from({ length: 300 }, (_, i) => `g${i}`));
    assert.deepEqual(r.attributes.mail, Array.from({ length: 300 }, (_, i) => `m${i}`));
  });

  test('the CAS namespace as the default namespace, or under two prefixes at once', () => {
    const r = parseServiceResponse(`<serviceResponse xmlns="${CAS_NS}"><authenticationSuccess><user>u</user><attributes><mail>m</mail><toString>t</toString><hasOwnProperty>h</hasOwnProperty></attributes></authenticationSuccess></serviceResponse>`);
    assert.ok(r.ok);
    assert.equal(r.user, 'u');
    // names as written (the library's default would have renamed toString to __toString)
    assert.deepEqual({ ...r.attributes }, { mail: ['m'], toString: ['t'], hasOwnProperty: ['h'] });
    assert.equal(userOf(`<a:serviceResponse xmlns:a="${CAS_NS}" xmlns:b="${CAS_NS}"><b:authenticationSuccess><a:user>u2</a:user></b:authenticationSuccess></a:serviceResponse>`), 'u2');
  });

  test('a prefix rebound to another namespace, or the default namespace undeclared, is no longer CAS inside', () => {
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationSuccess xmlns:cas="urn:evil"><cas:user>u</cas:user></cas:authenticationSuccess></cas:serviceResponse>`, /unexpected <cas:authenticationSuccess>/);
    refuses(`<serviceResponse xmlns="${CAS_NS}"><authenticationSuccess xmlns=""><user>u</user></authenticationSuccess></serviceResponse>`, /unexpected <authenticationSuccess>/);
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user xmlns:cas="urn:evil">u</cas:user></cas:authenticationSuccess></cas:serviceResponse>`, /no single cas:user/);
    // and the other way: a prefix bound to CAS only inside still leaves the root outside it
    refuses(`<cas:serviceResponse xmlns:cas="urn:evil"><cas:authenticationSuccess ${NS}><cas:user>u</cas:user></cas:authenticationSuccess></cas:serviceResponse>`, /not a cas:serviceResponse/);
  });
});

describe('parseServiceResponse refuses hostile or broken XML', () => {
  test('any DOCTYPE or other markup declaration, before the parser sees it: no DTD, no entity expansion, no external entities', () => {
    refuses(`<!DOCTYPE r>${success('u')}`, /DOCTYPE/);
    refuses(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "xx">]>${success('&x;')}`, /DOCTYPE/);
    refuses(`<!DOCTYPE r SYSTEM "file:///etc/passwd">${success('u')}`, /DOCTYPE/);
    refuses(`<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:1/x">]>${success('&x;')}`, /DOCTYPE/);
    refuses(`<!doctype r>${success('u')}`, /DOCTYPE/);
    refuses(success('<!ENTITY x "y">u'), /markup declaration/);
    refuses(success('<![INCLUDE[u]]>'), /markup declaration/);
  });

  test('billion laughs is refused at once, never expanded', () => {
    const lol = ['<!ENTITY lol0 "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`)].join('');
    const doc = `<?xml version="1.0"?><!DOCTYPE lolz [${lol}]>${success('&lol9;')}`;
    refuses(doc, /DOCTYPE/);
  });

  test('entities XML does not predefine, bare ampersands, and references to characters XML forbids', () => {
    refuses(success('&x;'), /entity &x;/);
    refuses(success('&nbsp;'), /entity &nbsp;/);
    refuses(success('&copy;'), /entity &copy;/);
    refuses(success('a & b'), /char '&' is not expected/); // the validator's words
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationFailure code="&x;">no</cas:authenticationFailure></cas:serviceResponse>`, /entity &x;/);
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationFailure code="a & b">no</cas:authenticationFailure></cas:serviceResponse>`, /bare "&"/);
    refuses(success('&#0;'), /not a character XML allows/);
    refuses(success('&#xD800;'), /not a character XML allows/);
    refuses(success('&#x110000;'), /not a character XML allows/);
  });

  test('malformed structure: mismatched, unclosed or unopened tags', () => {
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>u</cas:other></cas:authenticationSuccess></cas:serviceResponse>`, /closing tag/i);
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>u</cas:authenticationSuccess></cas:user></cas:serviceResponse>`, /closing tag/i);
    refuses(success('u').slice(0, -'</cas:serviceResponse>'.length), /unclosed/i);
    refuses(`${success('u')}</cas:serviceResponse>`, /closing tag 'cas:serviceResponse' has not been opened/i);
  });

  test('text or elements outside the root, or no root', () => {
    refuses(`text${success('u')}`, /not expected/);
    refuses(`${success('u')}tail`, /extra text/i);
    refuses(`<cas:serviceResponse ${NS}/>tail`, /text outside the root/);
    refuses(`<![CDATA[x]]>${success('u')}`, /text outside the root/);
    refuses(`${success('u')}<x/>`, /root/i);
    refuses(`<cas:serviceResponse ${NS}/><cas:serviceResponse ${NS}/>`, /more than one root/);
    refuses('', /start tag expected/i);
    refuses('   \n', /start tag expected/i);
  });

  test('bad names and attributes: duplicate, unquoted, an invalid name, two colons', () => {
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationFailure code="A" code="B">no</cas:authenticationFailure></cas:serviceResponse>`, /repeated/);
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationFailure code=A>no</cas:authenticationFailure></cas:serviceResponse>`, /without value/);
    refuses(success('u', '<1a/>'), /invalid name/);
    refuses(success('u', `<a:b:c xmlns:a="urn:x"/>`), /not a namespace-well-formed name/);
  });

  test('without a prefix, elements named constructor, prototype or __proto__ (the library refuses them, a guard against prototype pollution)', () => {
    for (const name of ['constructor', 'prototype', '__proto__']) {
      refuses(`<serviceResponse xmlns="${CAS_NS}"><authenticationSuccess><user>u</user><attributes><${name}>x</${name}></attributes></authenticationSuccess></serviceResponse>`, /reserved JavaScript keyword/);
    }
  });

  test('unbound prefixes, on elements and on attributes; bad namespace declarations', () => {
    refuses('<cas:serviceResponse><cas:authenticationSuccess><cas:user>u</cas:user></cas:authenticationSuccess></cas:serviceResponse>', /prefix "cas" is not bound/);
    refuses(`<cas:serviceResponse ${NS}><cas:authenticationFailure x:code="1">no</cas:authenticationFailure></cas:serviceResponse>`, /prefix "x" is not bound/);
    refuses(`<cas:serviceResponse ${NS} xmlns:p="">${success('u').slice(`<cas:serviceResponse ${NS}>`.length)}`, /xmlns:p is not allowed/);
  });

  test('processing instructions, a declaration not at the start, another encoding', () => {
    refuses(success('u', '<?php echo 1 ?>'), /processing instruction/);
    refuses(` <?xml version="1.0"?>${success('u')}`, /declaration/i);
    refuses(`<?xml version="1.0" encoding="ISO-8859-1"?>${success('u')}`, /not UTF-8/);
  });

  test('characters XML forbids; unclosed comments and CDATA', () => {
    refuses(success('a\u0001'), /character XML does not allow/);
    refuses(success('a\uFFFE'), /character XML does not allow/);
    // the open comment or CDATA runs to the end, taking the closing tags with it
    refuses(success('u<!-- open'), /Invalid '\[.*"cas:user"\]' found/);
    refuses(success('<![CDATA[open'), /Invalid '\[.*"cas:user"\]' found/);
  });

  test('documents past the size, depth and element limits, and at them', () => {
    refuses(success('u', `<!--${'x'.repeat(XML_LIMITS.chars)}-->`), /over \d+ characters/);
    // root, success and attributes are three levels; a structured attribute is left out, not refused
    const nested = (levels: number) => success('u', attrs(`${'<cas:a>'.repeat(levels)}${'</cas:a>'.repeat(levels)}<cas:b>1</cas:b>`));
    refuses(nested(XML_LIMITS.depth - 3 + 1), /nested/i);
    assert.deepEqual(parseServiceResponse(nested(XML_LIMITS.depth - 3)), { ok: true, user: 'u', attributes: Object.assign(Object.create(null), { b: ['1'] }) });
    // root, success, user and attributes are four elements
    const wide = (n: number) => success('u', attrs('<cas:a/>'.repeat(n)));
    refuses(wide(XML_LIMITS.elements - 4 + 1), /more than \d+ elements/);
    const r = parseServiceResponse(wide(XML_LIMITS.elements - 4));
    assert.ok(r.ok);
    assert.equal(r.attributes.a!.length, XML_LIMITS.elements - 4);
  });
});
