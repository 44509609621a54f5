/**
 * Improvers of a placement: {@code Repair} (makes a start feasible), {@code Descent} (moves and swaps to a local
 * optimum), {@code WindowSweep} (exact re-optimisation of windows of consecutive layers), {@code IteratedLocalSearch}
 * (kicks, repair and descent), {@code TabuWalk} (a tabu walk that may cross infeasible placements) and
 * {@code RuinRecreate} (stretches of the order re-placed by beam search). Each {@link
 * dev.tessera.assigner.internal.improve.Improver} takes a feasible {@code SearchState} and returns one that is feasible
 * and no worse; its budget is fixed when it is built (by the search plan), never by the clock, and the only
 * randomness is the run's one seeded generator, so a seed fixes the result.
 */
package dev.tessera.assigner.internal.improve;
