// Closing a Node server gracefully: answers in flight finish, every connection then closes, and nothing waits on a
// client that holds a connection open without a request.
//
// server.closeIdleConnections() alone is not enough. Node counts a connection that has not yet sent a whole request
// (a pool's pre-connect, a load balancer's spare, a client halfway through its headers) as busy, so one such connection
// held a shutdown until the grace period forced the exit. And an answer already being worked on when the shutdown began
// still said `Connection: keep-alive`, so its client sent its next request down a connection about to close.
import type { RequestListener, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How often a closing server looks for connections that have fallen idle since. */
const IDLE_SWEEP_MS = 100;

export interface Drain {
  /** `listener`, with each request's answer counted in flight until its response closes. */
  tracked(listener: RequestListener): RequestListener;
  /** Stops listening; resolves once every connection is gone. */
  close(): Promise<void>;
}

export function drainable(server: Server): Drain {
  const connections = new Set<Socket>();
  const answering = new Set<ServerResponse>();
  let closing = false;
  server.on("connection", (socket: Socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
  });
  // One function for every response, not a closure per request.
  function answered(this: ServerResponse): void {
    answering.delete(this);
  }
  const sweep = () => {
    const busy = new Set<unknown>();
    for (const res of answering) busy.add(res.socket);
    for (const socket of connections) if (!busy.has(socket)) socket.destroy();
  };
  return {
    tracked: (listener) => (req, res) => {
      // From now on each answer tells its client the connection closes.
      if (closing) res.shouldKeepAlive = false;
      answering.add(res);
      res.on("close", answered);
      return listener(req, res);
    },
    close() {
      closing = true;
      const closed = new Promise<void>((done) => server.close(() => done()));
      // Answers still being worked on say the connection closes, where their headers have yet to leave.
      for (const res of answering) res.shouldKeepAlive = false;
      sweep();
      const sweeping = setInterval(sweep, IDLE_SWEEP_MS);
      return closed.finally(() => clearInterval(sweeping));
    },
  };
}
