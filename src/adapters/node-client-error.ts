// What node:http answers a request it cannot parse (headers too large, a malformed request line, both Content-Length
// and Transfer-Encoding): by default a bare status with no body. Here, the same status in OpenAI's error shape, so a
// client's SDK reports what was wrong instead of an empty error; the connection closes, as Node's own answer does.
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { errorAnswer, ProxyError } from "../errors";

/** Node's statuses for the parser's failures; any other is a 400. */
function refusalOf(code: string | undefined): ProxyError {
  if (code === "HPE_HEADER_OVERFLOW") {
    return new ProxyError(431, "the request's headers are larger than the server accepts (16 KiB in all)", { code: "headers_too_large" });
  }
  if (code === "HPE_CHUNK_EXTENSIONS_OVERFLOW") return new ProxyError(413, "the request's chunk extensions are too large", { code: "body_too_large" });
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return new ProxyError(408, "the request's headers did not arrive in time", { type: "timeout_error", code: "request_timeout" });
  return new ProxyError(400, "the request is not well-formed HTTP/1.1", { code: "malformed_request" });
}

export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A connection the client reset, or one whose answer has begun to go out (Node's own handler checks the same): a
  // status written now would land inside that answer.
  const answer = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || answer?.headersSent) {
    socket.destroy();
    return;
  }
  const refusal = refusalOf(err.code);
  const { body, headers } = errorAnswer(refusal);
  const head = Object.entries({ ...headers, "content-length": String(Buffer.byteLength(body)), connection: "close" })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  // Closed for good once the answer is out: ending only the sending side would leave the socket open for as long as
  // the client keeps its own side open, up to the server's idle timeout, with no request on it.
  socket.end(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n${head}\r\n${body}`, () => socket.destroy());
}
