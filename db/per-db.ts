// Something made once per database and kept as long as it is (a prepared statement, a cache): the
// token check and the spawn watch prepare their queries once, not per call.
import type { Db } from './client.ts';

export function perDb<T>(make: (db: Db) => T): (db: Db) => T {
  const made = new WeakMap<Db, T>();
  return (db) => {
    let v = made.get(db);
    if (v === undefined) made.set(db, (v = make(db)));
    return v;
  };
}
