// Reading serviceValidate answers: the CAS protocol spec's own examples, and what is not an answer.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CasResponseError, parseServiceResponse } from './response.ts';

const NS = 'xmlns:cas="http://www.yale.edu/tp/cas"';

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
