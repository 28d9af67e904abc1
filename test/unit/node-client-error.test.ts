// A request node:http cannot parse is answered in OpenAI's shape and its connection closed on the server's side too.
import { once } from "node:events";
import { createServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { expect, it } from "vitest";
import { answerClientError } from "../../src/adapters/node-client-error";

it("closes the server's side of the connection once the refusal is out, even while the client keeps its side open", async () => {
  const server = createServer((_req, res) => res.end("ok")).on("clientError", answerClientError);
  const accepted: Socket[] = [];
  server.on("connection", (socket: Socket) => accepted.push(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  // allowHalfOpen: the client does not end its side when the server ends its own, as a careless client might not.
  const client = connect({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", allowHalfOpen: true });
  try {
    let answer = "";
    client.setEncoding("utf8").on("data", (chunk: string) => (answer += chunk));
    await once(client, "connect");
    client.write("GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n");
    await once(client, "end");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await expect.poll(() => accepted[0]?.destroyed, { timeout: 2_000 }).toBe(true);
  } finally {
    client.destroy();
    server.close();
  }
});
