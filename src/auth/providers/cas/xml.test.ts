// The strict XML reader: what a CAS answer can hold is read exactly; everything else is refused.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { childElements, decodeEntities, ownText, parseXml, XML_LIMITS, XmlError } from './xml.ts';

const CAS = 'http://www.yale.edu/tp/cas';
const refuses = (doc: string, why: RegExp) => assert.throws(() => parseXml(doc), (e: unknown) => e instanceof XmlError && why.test(e.message));

describe('parseXml reads', () => {
  test('elements, prefixes resolved to namespaces, attributes and text', () => {
    const root = parseXml(`<?xml version="1.0" encoding="UTF-8"?>\n<cas:serviceResponse xmlns:cas="${CAS}">\n <cas:authenticationFailure code='INVALID_TICKET'>Ticket not recognized</cas:authenticationFailure>\n</cas:serviceResponse>\n`);
    assert.equal(root.name, 'cas:serviceResponse');
    assert.equal(root.local, 'serviceResponse');
    assert.equal(root.ns, CAS);
    assert.deepEqual(root.attrs, {}); // the xmlns declaration is not an attribute
    const [failure] = childElements(root);
    assert.equal(failure!.ns, CAS);
    assert.deepEqual(failure!.attrs, { code: 'INVALID_TICKET' });
    assert.equal(ownText(failure!), 'Ticket not recognized');
  });

  test('the five predefined entities and decimal and hex character references, in text and attributes', () => {
    const root = parseXml(`<a v="&quot;&amp;&lt;&gt;&apos;&#65;&#x1F600;">&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#233;&#x2615;</a>`);
    assert.equal(root.attrs.v, `"&<>'A😀`);
    assert.equal(ownText(root), `<b> & "c" 'd' é☕`);
  });

  test('CDATA as text, comments skipped, a BOM and surrounding whitespace allowed, self-closing elements', () => {
    const root = parseXml(`\uFEFF<!-- before --><r><x><![CDATA[<not & markup>]]></x><!-- inside --><y/><z a="1" /></r>\n<!-- after -->\n`);
    const [x, y, z] = childElements(root);
    assert.equal(ownText(x!), '<not & markup>');
    assert.equal(y!.local, 'y');
    assert.deepEqual(z!.attrs, { a: '1' });
  });

  test('a default namespace, redeclared and undeclared inside', () => {
    const root = parseXml(`<r xmlns="urn:a"><s xmlns="urn:b"><t xmlns=""/></s><u/></r>`);
    assert.equal(root.ns, 'urn:a');
    const [s, u] = childElements(root);
    assert.equal(s!.ns, 'urn:b');
    assert.equal(childElements(s!)[0]!.ns, undefined);
    assert.equal(u!.ns, 'urn:a');
  });

  test('the same prefix bound to another namespace only inside the element that rebinds it', () => {
    const root = parseXml(`<p:r xmlns:p="urn:one"><p:s xmlns:p="urn:two"/><p:t/></p:r>`);
    const [s, t] = childElements(root);
    assert.equal(s!.ns, 'urn:two');
    assert.equal(t!.ns, 'urn:one');
  });

  test('adjacent text, entity and CDATA pieces join into one text child', () => {
    const root = parseXml('<r>a&amp;<![CDATA[b]]>c</r>');
    assert.deepEqual(root.children, ['a&bc']);
  });
});

describe('parseXml refuses', () => {
  test('a DOCTYPE, with or without entity declarations (no expansion, no external entities)', () => {
    refuses('<!DOCTYPE r><r/>', /DOCTYPE/);
    refuses('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "xx">]><r>&x;</r>', /DOCTYPE/);
    refuses('<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>', /DOCTYPE/);
    refuses('<r><!ENTITY x "y"></r>', /markup declaration/);
  });

  test('entities XML does not predefine, and bare ampersands', () => {
    refuses('<r>&x;</r>', /entity &x;/);
    refuses('<r>&nbsp;</r>', /entity &nbsp;/);
    refuses('<r>a & b</r>', /bare "&"/);
    refuses('<r a="&x;"/>', /entity/);
    refuses('<r>&#0;</r>', /not a character XML allows/);
    refuses('<r>&#xD800;</r>', /not a character XML allows/);
    refuses('<r>&#x110000;</r>', /not a character XML allows/);
  });

  test('malformed structure: mismatched, unclosed, or extra roots; text outside the root', () => {
    refuses('<a><b></a></b>', /does not close/);
    refuses('<a>', /never closed/);
    refuses('</a>', /does not close anything/);
    refuses('<a/><b/>', /more than one root/);
    refuses('text<a/>', /outside the root/);
    refuses('', /no root element/);
    refuses('<a b="1" b="2"/>', /given twice/);
    refuses('<a b=1/>', /malformed start tag/);
    refuses('<a b="<"/>', /malformed start tag/);
    refuses('<1a/>', /not an XML name/);
    refuses('<a:b:c xmlns:a="urn:x"/>', /not an XML name/);
  });

  test('unbound prefixes, on elements and on attributes; bad namespace declarations', () => {
    refuses('<cas:serviceResponse/>', /prefix "cas" is not bound/);
    refuses('<r x:a="1"/>', /prefix "x" is not bound/);
    refuses('<r xmlns:p=""/>', /not allowed/);
  });

  test('processing instructions, a declaration not at the start, another encoding', () => {
    refuses('<r><?php echo 1 ?></r>', /processing instruction/);
    refuses(' <?xml version="1.0"?><r/>', /processing instruction/);
    refuses('<?xml version="1.0" encoding="ISO-8859-1"?><r/>', /not UTF-8/);
  });

  test('characters XML forbids, unclosed comments and CDATA, "--" in a comment, "]]>" in text', () => {
    refuses('<r>\u0001</r>', /character XML does not allow/);
    refuses('<r>\uFFFE</r>', /character XML does not allow/);
    refuses('<r><!-- open</r>', /unclosed comment/);
    refuses('<r><!-- a -- b --></r>', /"--" inside a comment/);
    refuses('<r><![CDATA[open</r>', /unclosed CDATA/);
    refuses('<r>a]]>b</r>', /"]]>" in text/);
  });

  test('documents past the size, depth and element limits', () => {
    refuses(`<r>${'x'.repeat(XML_LIMITS.chars)}</r>`, /over/);
    refuses(`${'<a>'.repeat(XML_LIMITS.depth + 1)}${'</a>'.repeat(XML_LIMITS.depth + 1)}`, /nested deeper/);
    refuses(`<r>${'<a/>'.repeat(XML_LIMITS.elements)}</r>`, /more than \d+ elements/);
    // at the limits, fine
    assert.equal(childElements(parseXml(`<r>${'<a/>'.repeat(XML_LIMITS.elements - 1)}</r>`)).length, XML_LIMITS.elements - 1);
  });
});

test('decodeEntities leaves text without references alone', () => {
  assert.equal(decodeEntities('plain text; with semicolons'), 'plain text; with semicolons');
});
