// A request body is read within what is left of the request's budget, whatever budget the config allows.
import { expect, it } from "vitest";
import { readWithinBudget } from "../../src/budget";
import { ProxyError } from "../../src/errors";
import { TIMER_MAX_MS } from "../../src/observe/config";

const arriving = <T>(value: T, ms: number) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

it("gives the body to a request whose budget is the longest the config accepts, instead of timing it out at once", async () => {
  await expect(readWithinBudget(arriving("body", 30), Date.now(), TIMER_MAX_MS)).resolves.toBe("body");
});

it("still answers 504 for a body that outlasts the budget", async () => {
  const late = readWithinBudget(arriving("body", 500), Date.now(), 20);
  await expect(late).rejects.toBeInstanceOf(ProxyError);
  await expect(late).rejects.toMatchObject({ status: 504, code: "request_timeout" });
});
