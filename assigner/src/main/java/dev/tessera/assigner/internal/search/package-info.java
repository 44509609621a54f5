/**
 * The discrete phase as a plan and its runner. {@code SearchPlan} owns every budget of a placement run (gradient
 * steps, beam widths, kicks, tabu iterations, window and sweep sizes, descent and repair guards) and the order of
 * the phases each start and each finalist goes through; {@code Phase} is the enum factory that turns a phase into
 * its {@code Improver}; {@code DiscreteSearch} builds the starts, repairs them, and runs the plan. Budgets depend on
 * the problem's size and the effort option only, never on the clock, so a seed fixes the answer.
 */
package dev.tessera.assigner.internal.search;
