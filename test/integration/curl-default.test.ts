// `curl -d` sends form-urlencoded by default; a JSON body sent that way is still a chat request.
import { expect, it } from "vitest";
import { chatBody, harness } from "../helpers";

it("accepts a JSON body sent with curl's default content type", async () => {
  const { app } = harness();
  const response = await app.request("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: JSON.stringify(chatBody({ verdict: { n: 2 } })),
  });
  expect(response.status).toBe(200);
  expect((await response.json()).verdict.n_candidates).toBe(2);
});
