// Reads a CAS serviceValidate answer (CAS protocol 2.0 and 3.0, Apereo's spec §2.5 and §2.6):
//   <cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
//     <cas:authenticationSuccess><cas:user>…</cas:user><cas:attributes>…</cas:attributes>…
//     | <cas:authenticationFailure code="INVALID_TICKET">message</cas:authenticationFailure>
// Anything else (another root, another namespace, no user, a document the XML reader refuses) is a
// CasResponseError: the server misbehaved, which is not the same as it saying no.
import { childElements, ownText, parseXml, XmlError, type XmlElement } from './xml.ts';

export const CAS_NS = 'http://www.yale.edu/tp/cas';

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

const isCas = (el: XmlElement, local: string) => el.ns === CAS_NS && el.local === local;

/** Parses the answer's text. Throws CasResponseError when it is not a serviceResponse. */
export function parseServiceResponse(body: string): CasValidation {
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch (err) {
    if (err instanceof XmlError) throw new CasResponseError(`not a well-formed CAS answer: ${err.message}`);
    throw err;
  }
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
