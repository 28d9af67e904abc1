// Round-robin: every pair meets once (both orders), all matches in one parallel round; Copeland score decides, soft
// Borda (summed p(win)) breaks ties. Stops as soon as no other candidate can catch the leader, unless the client asked
// for more than the winner: its alternatives are then ranked on every match.
import { inheritDeadline } from "../src/budget";
import { childSignal } from "../src/util/child-signal";
import { NO_REMATCH, playMatch, type MatchPolicy } from "./match";
import { breakTie } from "./tiebreak";
import type { Candidate, MatchRecord, Selection, StrategyContext } from "./types";

export interface Standing {
  candidate: Candidate;
  copeland: number;
  borda: number;
  remaining: number;
}

/**
 * Copeland points: a clear win is 1, a match the judge could not settle (decided by a tie-break rule) 0.5 each, and
 * a win that one order called a tie counts at half weight (DESIGN.md), 0.75 against 0.25.
 */
function points(match: MatchRecord, index: number): number {
  if (match.decided_by === "judge_half_weight") return match.winner === index ? 0.75 : 0.25;
  if (match.decided_by !== "judge") return 0.5;
  return match.winner === index ? 1 : 0;
}

function leaderCannotBeCaught(table: Standing[]): boolean {
  const [leader, ...rest] = [...table].sort((x, y) => y.copeland - x.copeland);
  return rest.every((s) => s.copeland + s.remaining < leader!.copeland);
}

/** Adds one match's result to both players' standings. */
export function record(match: MatchRecord, x: Standing, y: Standing): void {
  for (const [s, p] of [[x, match.p_a], [y, 1 - match.p_a]] as const) {
    s.copeland += points(match, s.candidate.index);
    s.borda += p;
    s.remaining -= 1;
  }
}

/**
 * Best first: Copeland score, then, when exactly two are level on it, the judge's verdict on their own match (when the
 * judge settled it; among three or more level the verdicts can go round in a circle), then soft Borda and the
 * tie-break chain.
 */
export function order(table: Standing[], matches: MatchRecord[] = []): Standing[] {
  const level = new Map<number, number>();
  for (const s of table) level.set(s.copeland, (level.get(s.copeland) ?? 0) + 1);
  const headToHead = (x: Standing, y: Standing): number => {
    if (level.get(x.copeland) !== 2) return 0;
    const [a, b] = [x.candidate.index, y.candidate.index];
    const match = matches.find((m) => (m.a === a && m.b === b) || (m.a === b && m.b === a));
    if (match === undefined || points(match, a) === 0.5) return 0;
    return match.winner === a ? -1 : 1;
  };
  return [...table].sort((x, y) => {
    if (y.copeland !== x.copeland) return y.copeland - x.copeland;
    const settled = headToHead(x, y);
    if (settled !== 0) return settled;
    const broken = breakTie(x.candidate, y.candidate, { softAOverB: x.borda === y.borda ? 0.5 : x.borda > y.borda ? 1 : 0 });
    return broken.winner === x.candidate ? -1 : 1;
  });
}

/** `policy`: round-robin replays nothing; under a cap on judge calls it limits asking again for unreadable answers. */
export async function roundRobin(candidates: AsyncIterable<Candidate>, ctx: StrategyContext, policy: MatchPolicy = NO_REMATCH): Promise<Selection> {
  const pool: Candidate[] = [];
  for await (const candidate of candidates) pool.push(candidate);
  const table = pool.map((candidate) => ({ candidate, copeland: 0, borda: 0, remaining: pool.length - 1 }));
  const matches: MatchRecord[] = [];
  // Matches still queued are dropped once the result is settled; the caller's signal still aborts everything.
  const stop = childSignal(ctx.signal);
  const signal = stop.signal;
  inheritDeadline(signal, ctx.signal); // so judge retries still know how much of the request's budget is left
  let stoppedEarly = false;
  let failure: { reason: unknown } | undefined;

  const games: Promise<void>[] = [];
  for (let i = 0; i < table.length; i++) {
    for (let j = i + 1; j < table.length; j++) {
      const [x, y] = [table[i]!, table[j]!];
      games.push(
        playMatch(x.candidate, y.candidate, { ...ctx, signal }, 1, policy).then((match) => {
          matches.push(match);
          record(match, x, y);
          if (!stoppedEarly && (ctx.choices ?? 1) === 1 && matches.length < games.length && leaderCannotBeCaught(table)) {
            stoppedEarly = true;
            stop.abort(new Error("round-robin settled early"));
          }
        }, (reason: unknown) => {
          // One failed match fails the round-robin: the others (its own other order too, since a match plays both at
          // once) would be paid for and thrown away, so they end now.
          if (stoppedEarly || failure) return;
          failure = { reason };
          stop.abort(reason);
        }),
      );
    }
  }
  await Promise.all(games);
  stop.release(); // every call has ended (or been stopped above): the caller's signal need not reach them
  if (failure) throw failure.reason;

  const ranked = order(table, matches);
  const winner = ranked[0]!.candidate.index;
  return {
    winner,
    ranking: ranked.map((s) => s.candidate.index),
    rationale: decidingReason(matches, winner),
    scores: Object.fromEntries(ranked.map((s) => [s.candidate.index, s.copeland])),
    matches,
    rounds: matches.length > 0 ? 1 : 0,
  };
}

/** The judge's words from the winner's most clear-cut win, else from any match. */
export function decidingReason(matches: MatchRecord[], winner: number): string {
  const deciding = matches.filter((m) => m.winner === winner).sort((p, q) => Math.abs(q.p_a - 0.5) - Math.abs(p.p_a - 0.5));
  return deciding[0]?.reasoning ?? (matches[0]?.reasoning || "only one distinct candidate: no judging needed");
}
