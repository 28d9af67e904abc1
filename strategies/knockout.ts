// Pipelined knockout: a match starts as soon as two contestants are ready, so early candidates play while slow ones
// are still being generated. N-1 matches; about ceil(log2 N) rounds when all candidates arrive together.
//
// With a round-robin finale, once the last candidate is in and at most six contestants are still alive (waiting, or
// in a match that has not ended), they all meet each other at once instead of playing out the rest of the bracket
// round after round: one round of judging instead of up to three. The price is the extra pairs (bench/README.md
// measures both).
import { inOrder } from "./in-order";
import { playMatch, type RematchBudget } from "./match";
import { decidingReason, order, record, type Standing } from "./round-robin";
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

export interface Finale {
  /** With verdict.max_judge_calls: the calls allowed beyond a plain knockout (shared with rematches). */
  spare?: RematchBudget;
}

/**
 * The most contestants a finale takes: 15 pairs in one round instead of 5 matches over 3 rounds. With more alive the
 * bracket plays on until this few are left (all N at once would cost N(N-1) calls instead of 2(N-1)). Measured at
 * N = 8 (bench/README.md): with 4 the finale often had to wait for the bracket after the last candidate; 6 ends about
 * one judge round after it, for about 24 judge calls instead of 14 when candidates arrive one by one.
 */
export const FINALE_SIZE = 6;

export function knockout(candidates: AsyncIterable<Candidate>, ctx: StrategyContext, play: PlayMatch = playMatch, finale?: Finale): Promise<Selection> {
  // A failed match fails the knockout at once, even while the bracket waits for the next candidate, which may be
  // seconds away (a dead judge under fail_closed waited for the slowest draw). The bracket itself reads candidates
  // as it did: racing each arrival against the failure would add a turn per candidate, and a judgment from the cache
  // could then end before the next candidate is read, pairing the same candidates differently on a repeat request.
  let failNow!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => (failNow = reject)); // the executor runs at once: failNow is set
  return Promise.race([playBracket(candidates, ctx, play, finale, failNow), failed]);
}

async function playBracket(
  candidates: AsyncIterable<Candidate>,
  ctx: StrategyContext,
  play: PlayMatch,
  finale: Finale | undefined,
  onFailure: (err: unknown) => void,
): Promise<Selection> {
  const ready: Contestant[] = [];
  const seen: Candidate[] = [];
  const matches: MatchRecord[] = [];
  /** Matches in progress, with their players (a finale counts a pair in progress as that pair's game). */
  const playing = new Map<Promise<void>, [Contestant, Contestant]>();
  let allIn = false;
  let finalists: Contestant[] | null = null; // set when the finale starts; from then on the bracket stops
  let failure: unknown;

  const start = (first: Contestant, second: Contestant, round: number, then: (match: MatchRecord) => void): void => {
    const played: Promise<void> = play(first.candidate, second.candidate, ctx, round).then(
      (match) => {
        matches.push(match);
        playing.delete(played);
        then(match);
      },
      (err: unknown) => {
        failure ??= err;
        playing.delete(played);
        onFailure(failure);
      },
    );
    playing.set(played, [first, second]);
  };

  const advance = (first: Contestant, second: Contestant, round: number) => (match: MatchRecord) => {
    if (finalists) return; // the finale already counts this match as its pair's game
    const winner = match.winner === first.candidate.index ? first : second;
    // Each replay of a split match is one more judge round trip on this path.
    const depth = Math.max(first.depth, second.depth) + 1 + (match.rematches ?? 0);
    ready.push({ candidate: winner.candidate, wins: round, depth });
    startFinaleIfDue();
    pairReady();
  };

  const pairReady = (): void => {
    while (ready.length >= 2 && failure === undefined && !finalists) {
      const first = ready.shift()!;
      const second = ready.shift()!;
      const round = Math.max(first.wins, second.wins) + 1;
      start(first, second, round, advance(first, second, round));
    }
  };

  const startFinaleIfDue = (): void => {
    if (!finale || !allIn || finalists || failure !== undefined) return;
    const inProgress = [...playing.values()];
    const alive = [...ready, ...inProgress.flat()];
    if (alive.length < 3 || alive.length > FINALE_SIZE) return;
    const fresh = unplayedPairs(alive, inProgress);
    // A plain knockout would still play alive - 1 matches, those in progress included; the finale plays every pair.
    const extraCalls = 2 * (fresh.length - (alive.length - 1 - inProgress.length));
    if (finale.spare) {
      if (finale.spare.spare < extraCalls) return;
      finale.spare.spare -= extraCalls;
    }
    finalists = alive;
    ready.length = 0;
    const round = Math.max(...alive.map((c) => c.wins)) + 1;
    for (const [x, y] of fresh) start(x, y, round, () => undefined);
  };

  for await (const candidate of candidates) {
    seen.push(candidate);
    ready.push({ candidate, wins: 0, depth: 0 });
    pairReady();
    if (failure !== undefined) break;
  }
  allIn = true;
  startFinaleIfDue();
  // One failed match fails the knockout at once (above), and no match starts after it. Those still in progress are
  // not waited for: they end with the request's scope, which closes as soon as the request has its answer
  // (src/budget.ts). A scope of the knockout's own to end them sooner cost about 5% of a best-of-4's CPU under load
  // (bench/README.md).
  while (playing.size > 0 && failure === undefined) await Promise.race(playing.keys());
  if (failure !== undefined) throw failure;
  if (seen.length === 0) throw new Error("knockout needs at least one candidate");
  if (finalists) return finaleSelection(finalists, seen, matches);

  const champion = ready[0]!.candidate;
  const final = matches.find((m) => m.winner === champion.index && m.round === ready[0]!.wins);
  // One choice (the common case) needs no playoff, and no turn of the event loop to learn so.
  const places = (ctx.choices ?? 1) > 1 ? await playForPlaces(champion, seen, matches, ctx, play) : { placed: [champion], played: [], rounds: 0 };
  return {
    winner: champion.index,
    ranking: [...places.placed.map((c) => c.index), ...rankByElimination(seen, [...matches, ...places.played], places.placed)],
    rationale: final?.reasoning ?? "only one distinct candidate: no judging needed",
    matches: [...matches, ...places.played],
    rounds: ready[0]!.depth + places.rounds,
  };
}

/** Every pair of `alive` that is not already meeting in a match in progress. */
function unplayedPairs(alive: Contestant[], inProgress: [Contestant, Contestant][]): [Contestant, Contestant][] {
  const meeting = new Set(inProgress.map(([x, y]) => `${x.candidate.index}:${y.candidate.index}`));
  const pairs: [Contestant, Contestant][] = [];
  for (let i = 0; i < alive.length; i++) {
    for (let j = i + 1; j < alive.length; j++) {
      const [x, y] = [alive[i]!, alive[j]!];
      if (!meeting.has(`${x.candidate.index}:${y.candidate.index}`) && !meeting.has(`${y.candidate.index}:${x.candidate.index}`)) pairs.push([x, y]);
    }
  }
  return pairs;
}

/** The survivors' games (matches that were in progress count as their pair's game): Copeland decides, as in round-robin. */
function finaleSelection(alive: Contestant[], seen: Candidate[], matches: MatchRecord[]): Selection {
  const table = new Map<number, Standing>(alive.map((c) => [c.candidate.index, { candidate: c.candidate, copeland: 0, borda: 0, remaining: alive.length - 1 }]));
  // Two contestants still alive cannot have met before the finale: every finished match put one of its players out.
  const finalGames = matches.filter((m) => table.has(m.a) && table.has(m.b));
  for (const m of finalGames) record(m, table.get(m.a)!, table.get(m.b)!);
  const survivors = order([...table.values()], finalGames).map((s) => s.candidate);
  const winner = survivors[0]!.index;
  return {
    winner,
    ranking: [...survivors.map((c) => c.index), ...rankByElimination(seen, matches, survivors)],
    rationale: decidingReason(finalGames, winner),
    scores: Object.fromEntries([...table.values()].map((s) => [s.candidate.index, s.copeland])),
    matches,
    rounds: Math.max(...alive.map((c) => c.depth)) + 1 + Math.max(0, ...finalGames.map((m) => m.rematches ?? 0)),
  };
}

/**
 * Everyone but `top`, below whoever beat them: those `top` beat first, then those they beat, and so on. Among those at
 * the same remove, whoever lost to the better-placed candidate first, then whoever won more, then the tie-break
 * chain. Not by the round each lost in: in a pipelined bracket the early leader plays every late arrival, whose match
 * numbers then say when it came, not how good it is.
 */
const loserOf = (m: MatchRecord) => (m.winner === m.a ? m.b : m.a);

function rankByElimination(seen: Candidate[], matches: MatchRecord[], top: Candidate[]): number[] {
  const beatenBy = new Map<number, number>();
  const wins = new Map<number, number>();
  for (const m of matches) {
    beatenBy.set(loserOf(m), m.winner);
    wins.set(m.winner, (wins.get(m.winner) ?? 0) + 1);
  }
  const place = new Map(top.map((c, i) => [c.index, i]));
  /** How many victories lie between `c` and a placed candidate (a chain of who beat whom); Infinity for none. */
  const remove = (c: Candidate): number => {
    let steps = 0;
    for (let at = c.index; !place.has(at); steps++) {
      const victor = beatenBy.get(at);
      if (victor === undefined || steps > seen.length) return Infinity;
      at = victor;
    }
    return steps;
  };
  const rest = seen.filter((c) => !place.has(c.index));
  const removes = new Map(rest.map((c) => [c.index, remove(c)]));
  const ranked: Candidate[] = [];
  for (const steps of [...new Set(removes.values())].sort((a, b) => a - b)) {
    const out = rest.filter((c) => removes.get(c.index) === steps);
    const placeOfVictor = (c: Candidate) => place.get(beatenBy.get(c.index) ?? -1) ?? Infinity;
    out.sort((x, y) => placeOfVictor(x) - placeOfVictor(y) || (wins.get(y.index) ?? 0) - (wins.get(x.index) ?? 0) || tieBreakOrder(x, y));
    for (const c of out) place.set(c.index, place.size), ranked.push(c);
  }
  return ranked.map((c) => c.index);
}

/**
 * When the client wants more than the winner (its `n`), places 2, 3, ... are played for, each among the candidates
 * that only placed ones have beaten: under a consistent judge the next best is one of them, and nothing else has a
 * claim on the place (one beaten by a candidate still unplaced ranks below it). A few matches more, each pool a knockout
 * of its own. A playoff that fails keeps what was placed: the winner was decided already, and the rest are ranked by
 * how the bracket went.
 */
async function playForPlaces(champion: Candidate, seen: Candidate[], bracket: MatchRecord[], ctx: StrategyContext, play: PlayMatch) {
  const placed = [champion];
  const played: MatchRecord[] = [];
  let rounds = 0;
  const wanted = Math.min(ctx.choices ?? 1, seen.length);
  while (placed.length < wanted && !ctx.signal.aborted) {
    const isPlaced = new Set(placed.map((c) => c.index));
    const beatenByPlaced = new Set<number>();
    const beatenByOthers = new Set<number>();
    for (const m of [...bracket, ...played]) {
      (isPlaced.has(m.winner) ? beatenByPlaced : beatenByOthers).add(loserOf(m));
    }
    const pool = seen.filter((c) => !isPlaced.has(c.index) && beatenByPlaced.has(c.index) && !beatenByOthers.has(c.index));
    if (pool.length === 0) break;
    if (pool.length === 1) {
      placed.push(pool[0]!);
      continue;
    }
    let playoff: Selection;
    try {
      playoff = await knockout(inOrder(pool), { ...ctx, choices: 1 }, play);
    } catch {
      break;
    }
    played.push(...playoff.matches!);
    rounds += playoff.rounds ?? 0;
    placed.push(pool.find((c) => c.index === playoff.winner)!);
  }
  return { placed, played, rounds };
}
