// For a promise started now and awaited later (Promise.all over work started while candidates still arrive): a
// rejection that comes first must not count as unhandled meanwhile, which would take a Node process down.

/** The same promise, marked as handled; whoever awaits it later still sees its rejection. */
export function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
