/**
 * Start constructions for the discrete phase: pipeline fills ({@code PipelineFill}), greedy insertion
 * ({@code Greedy}), beam search ({@code BeamSearch}, also used with most models fixed by ruin and recreate), and
 * {@code Starts}, which lists them in the fixed order the search uses. A start may break limits (repair comes
 * next), except a beam's, which is always feasible. None of them uses randomness, so the same problem gives the
 * same starts; the order of the list matters, because ties between equally good searched starts go to the earlier.
 */
package dev.tessera.assigner.internal.start;
