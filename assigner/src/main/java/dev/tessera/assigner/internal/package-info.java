/**
 * The optimisers behind {@code ModelAssigner} (not API: signatures may change). This package holds what every phase
 * shares: the problem as arrays ({@code Problem}, immutable), the one record of per-device loads ({@code Loads}) and
 * the mutable assignment that keeps loads and communication exact under moves ({@code SearchState}). The phases live
 * in sub-packages: {@code relax} (the gradient phase), {@code graph} (orders and the pipeline cut), {@code start}
 * (start constructions), {@code improve} (repair, descent and the other improvers) and {@code search} (the plan
 * that owns every budget and the order of the phases, and its runner). Dependencies point one way: search uses
 * start, improve and graph; improve uses start's beam search and graph; nothing here uses search.
 */
package dev.tessera.assigner.internal;
