import { expect, it } from "vitest";
import { sampleLoopLag } from "../../src/util/loop-lag";

it("tells how late the event loop runs, and forgets it once the loop keeps time again", async () => {
  const lag = sampleLoopLag(20);
  try {
    await new Promise((resolve) => setTimeout(resolve, 60));
    const blockedUntil = Date.now() + 200;
    while (Date.now() < blockedUntil); // the process busy, as under load
    expect(lag.lagMs()).toBeGreaterThanOrEqual(150);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lag.lagMs()).toBeLessThan(150);
  } finally {
    lag.stop();
  }
});
