// `{ ...base, ...fields }` for objects made per request or per upstream call.
//
// Why not the spread itself: on Node 20's V8, an object literal that begins with a spread and goes on with more fields
// gets a hidden class of its own each time it runs. That costs about 1 µs per added field, and every later read of the
// object misses V8's property caches, in every function it passes through. Object.assign onto a fresh object reuses one
// hidden class. Measured on a pass-through: 13% of its CPU (bench/README.md, "Object spreads"). The same goes for a
// plain copy (`{ ...base }`) that is given new fields afterwards; literals that set a field before their first spread
// (`{ status, ...rest }`), and copies that gain no fields, are not affected.

/** A copy of `base` with `fields` set over it, as `{ ...base, ...fields }` gives. */
export function withFields<T extends object, U extends object>(base: T, fields: U): Omit<T, keyof U> & U {
  // A JSON text (a client's request) can hold "__proto__" as a field of its own. Object.assign would set the copy's
  // prototype to it, and the copy would then seem to have the client's fields without sending them; spread, it stays a
  // field like any other.
  if (Object.hasOwn(base, "__proto__") || Object.hasOwn(fields, "__proto__")) return { ...base, ...fields };
  return Object.assign({}, base, fields);
}
