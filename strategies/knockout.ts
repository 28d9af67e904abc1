// Pipelined knockout: a match starts as soon as two contestants are ready, so early candidates play while slow ones
// are still being generated. N-1 matches; about ceil(log2 N) rounds when all candidates arrive together.
import { playMatch } from "./match";
import { tieBreakOrder } from "./tiebreak";
import type { Candidate, MatchRecord, Selection, StrategyContext } from "./types";

interface Contestant {
  candidate: Candidate;
  /** Matches this contestant has won; its next match is in round wins + 1. */
  wins: number;
  /** Judge calls made one after another before this contestant was ready (its critical path). */
  depth: number;
}

/** How one match is played; both orders by default (benchmarks compare other ways). */
export type PlayMatch = (a: Candidate, b: Candidate, ctx: StrategyContext, round: number) => Promise<MatchRecord>;

export async function knockout(
  candidates: AsyncIterable<Candidate>,
  ctx: StrategyContext,
  play: PlayMatch = playMatch,
): Promise<Selection> {
  const ready: Contestant[] = [];
  const seen: Candidate[] = [];
  const matches: MatchRecord[] = [];
  const running = new Set<Promise<void>>();
  let failure: unknown;

  const pairReady = (): void => {
    while (ready.length >= 2 && failure === undefined) {
      const first = ready.shift()!;
      const second = ready.shift()!;
      const round = Math.max(first.wins, second.wins) + 1;
      const played: Promise<void> = play(first.candidate, second.candidate, ctx, round).then(
        (match) => {
          matches.push(match);
          const winner = match.winner === first.candidate.index ? first : second;
          // Each replay of a split match is one more judge round trip on this path.
          const depth = Math.max(first.depth, second.depth) + 1 + (match.rematches ?? 0);
          ready.push({ candidate: winner.candidate, wins: round, depth });
          running.delete(played);
          pairReady();
        },
        (err: unknown) => {
          failure ??= err;
          running.delete(played);
        },
      );
      running.add(played);
    }
  };

  for await (const candidate of candidates) {
    seen.push(candidate);
    ready.push({ candidate, wins: 0, depth: 0 });
    pairReady();
    if (failure !== undefined) break;
  }
  while (running.size > 0) await Promise.race(running);
  if (failure !== undefined) throw failure;
  if (seen.length === 0) throw new Error("knockout needs at least one candidate");

  const champion = ready[0]!.candidate;
  const final = matches.find((m) => m.winner === champion.index && m.round === ready[0]!.wins);
  return {
    winner: champion.index,
    ranking: rankByElimination(seen, matches, champion),
    rationale: final?.reasoning ?? "only one distinct candidate: no judging needed",
    matches,
    rounds: ready[0]!.depth,
  };
}

/** Winner first, then each loser by how far it got; equal progress is ordered by the tie-break chain. */
function rankByElimination(seen: Candidate[], matches: MatchRecord[], champion: Candidate): number[] {
  const lostInRound = new Map<number, number>();
  for (const m of matches) lostInRound.set(m.winner === m.a ? m.b : m.a, m.round);
  const rest = seen.filter((c) => c.index !== champion.index);
  rest.sort((x, y) => (lostInRound.get(y.index) ?? 0) - (lostInRound.get(x.index) ?? 0) || tieBreakOrder(x, y));
  return [champion.index, ...rest.map((c) => c.index)];
}
