// For code that follows a call with then instead of awaiting it in an async function (an async function holds a
// suspended frame for as long as the call waits, more for the garbage collector to copy under load; bench/README.md).

/** `fn(arg)` as a promise: a synchronous throw becomes a rejection, as it would inside an async function. */
export function called<A, T>(fn: (arg: A) => Promise<T>, arg: A): Promise<T> {
  try {
    return fn(arg);
  } catch (err) {
    return Promise.reject(err);
  }
}
