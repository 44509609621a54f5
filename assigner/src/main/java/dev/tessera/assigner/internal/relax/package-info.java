/**
 * The gradient phase: Adam on a softmax relaxation of the placement objective, on DJL NDArrays. Callers see only
 * {@code Relaxation}; {@code GradientRelaxation} implements it on DJL's engine-neutral API, and what one engine does
 * differently sits behind {@code RelaxationEngine} (in the manner of DJL's {@code Engine}): {@code PtRelaxationEngine},
 * the only class that names PyTorch types, builds the sparse edge matrix that prices the edges on the CPU; other
 * engines and GPUs use row gathers. Every tensor the loss uses lives in engine-owned memory (see
 * {@code GradientRelaxation}), because autograd keeps the constants for the backward pass.
 */
package dev.tessera.assigner.internal.relax;
