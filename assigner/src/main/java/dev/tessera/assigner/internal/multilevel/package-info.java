/**
 * The multilevel discrete phase for large problems (above {@code SearchPlan}'s multilevel size). {@code Coarsening}
 * merges models by heavy-edge matching into a hierarchy of {@code Level}s; a coarse model's demand and complexity are
 * the sums of its models', and a pair merges only when the sum fits some device on its own, so every level stays as
 * satisfiable as the problem it came from. The coarse problems keep the fine problem's devices, limits and
 * communication scale, so a coarse placement and its projection have the same loads and the same objective.
 * {@code MultilevelSearch} places the coarsest level with the usual relaxation and search, then projects and
 * {@code Refinement} improves each level with moves and swaps priced by the exact objective that never break a limit.
 */
package dev.tessera.assigner.internal.multilevel;
