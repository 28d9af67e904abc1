// Closing a Node server gracefully: answers in flight finish, every connection then closes, and nothing waits on a
// client that holds a connection open without a request.
//
// server.closeIdleConnections() alone is not enough. Node counts a connection that has not yet sent a whole request
// (a pool's pre-connect, a load balancer's spare, a client halfway through its headers) as busy, so one such connection
// held a shutdown until the grace period forced the exit. And an answer already being worked on when the shutdown began
// still said `Connection: keep-alive`, so its client sent its next request down a connection about to close.
//
// Nothing is done per request: a listener on every response was 10-20% of a pass-through's CPU (bench/README.md).
// Which connection has an answer under way is read when closing, from the socket's response as Node itself reads it
// (`_httpMessage`, which its own closeIdleConnections() relies on).
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How often a closing server looks for connections that have fallen idle since. */
const IDLE_SWEEP_MS = 100;

/** The response a connection is answering now, if any. */
const answerUnderWay = (socket: Socket): ServerResponse | null | undefined => (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;

export interface Drain {
  /** Stops listening; resolves once every connection is gone. */
  close(): Promise<void>;
}

export function drainable(server: Server): Drain {
  const connections = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
  });
  const sweep = () => {
    for (const socket of connections) {
      const answer = answerUnderWay(socket);
      // Its answer says the connection closes, where its headers have yet to leave; a connection with none is closed.
      if (answer) answer.shouldKeepAlive = false;
      else socket.destroy();
    }
  };
  return {
    close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      // A request that arrives meanwhile on a kept-alive connection is told the connection closes.
      server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
        res.shouldKeepAlive = false;
      });
      sweep();
      const sweeping = setInterval(sweep, IDLE_SWEEP_MS);
      return closed.finally(() => clearInterval(sweeping));
    },
  };
}
