// Preload for the Portkey gateway in bench/overhead.ts: pins a listen() that names no host to 127.0.0.1.
// Portkey's start script calls serve({ fetch, port }) with no hostname, so it would listen on every interface; the
// benchmarks must stay on loopback. Only the host is filled in; every other listen() call passes through untouched.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number") {
    if (args[1] === undefined) args[1] = "127.0.0.1";
    else if (typeof args[1] === "function") args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
