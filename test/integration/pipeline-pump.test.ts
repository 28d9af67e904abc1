// A fault while candidates are admitted (nothing known causes one now; json_schema checks once did) ends the request
// with an error answer: it must neither hang until the budget runs out nor leave a rejection unhandled.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Candidate } from "../../strategies/types";

/** The app as the helpers build it, over a candidate pool whose second admission throws. */
async function appWithFaultyAdmission() {
  // test/setup.ts has loaded the app already: the mocked pool needs a fresh module graph.
  vi.resetModules();
  vi.doMock("../../src/candidates", async (importOriginal) => {
    const real = await importOriginal<typeof import("../../src/candidates")>();
    return {
      ...real,
      createCandidatePool: (...args: Parameters<typeof real.createCandidatePool>) => {
        const pool = real.createCandidatePool(...args);
        const admit = pool.admit.bind(pool);
        let seen = 0;
        pool.admit = (candidate: Candidate) => {
          seen += 1;
          if (seen === 2) throw new Error("admission fault");
          return admit(candidate);
        };
        return pool;
      },
    };
  });
  return import("../helpers");
}

afterEach(() => {
  vi.doUnmock("../../src/candidates");
  vi.resetModules();
});

describe("a fault while admitting candidates", () => {
  it("is answered as an error at once, with nothing left unhandled", async () => {
    const { chatBody, harness, postChat, unhandledDuring } = await appWithFaultyAdmission();
    const unhandled = await unhandledDuring(async () => {
      const { app } = harness({ config: { timeouts: { request_ms: 5_000 } } });
      const started = Date.now();
      const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
      expect(response.status).toBe(500);
      expect((await response.json()).error.code).toBe("internal_error");
      expect(Date.now() - started).toBeLessThan(4_000);
    });
    expect(unhandled).toEqual([]);
  });
});
