/**
 * Placement of models (or the layers of one model) on GPUs and the CPU.
 *
 * <p><b>What it is for.</b> Given each model's memory demand and compute complexity, the traffic between models,
 * and the devices with their memory, power and distances, {@link dev.tessera.assigner.ModelAssigner} answers "what
 * goes where" so that memory fits, compute follows device power, and heavy traffic stays off slow links. {@link
 * dev.tessera.assigner.ModelGraph} reads that problem from a sequential DJL model, and {@link
 * dev.tessera.assigner.PlacedBlock} runs and trains the model across the devices it was given.
 *
 * <p><b>Invariants.</b> The default method never returns a placement that breaks a memory limit (or a balance
 * limit, when {@code balanceTolerance} is set); inputs that no placement can satisfy raise {@link
 * dev.tessera.assigner.PlacementInfeasibleException} with the numbers. A seed fixes the answer.
 *
 * <p><b>Why it is built this way.</b> machin's gradient descent over a softmax relaxation is kept as the first
 * phase, on DJL NDArrays (CUDA when present), with its objective normalised so the connection term does not
 * vanish as 1/n² and with an O(n·m² + E·m) step. The relaxation alone cannot honour hard limits, so a discrete
 * phase (in {@code .internal}) repairs the hardened answer and improves it with local search from several starts,
 * including exact pipeline cuts. The CLI lives in {@code .cli}.
 */
package dev.tessera.assigner;
