/**
 * The optimisers behind {@code ModelAssigner}: the problem as arrays ({@code Problem}), the DJL gradient
 * relaxation ({@code GradientRelaxation}), and the discrete search ({@code LocalSearch} over a {@code
 * SearchState} that keeps loads and communication exact under moves, with {@code BeamSearch}, {@code TabuSearch}
 * and {@code WindowSearch} as its parts). Not API: signatures may change.
 */
package dev.tessera.assigner.internal;
