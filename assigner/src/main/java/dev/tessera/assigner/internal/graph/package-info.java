/**
 * Graph utilities over a {@code Problem}'s edges: the undirected adjacency and breadth-first balls
 * ({@code Graph}), the model orders the starts and kicks walk (topological with either tie rule, depth-first,
 * breadth-first, by a key), and the exact pipeline cut of an order ({@code PipelineCut}). Everything here is a pure
 * function of the problem: no randomness and no search state, so an order computed twice is the same order.
 */
package dev.tessera.assigner.internal.graph;
