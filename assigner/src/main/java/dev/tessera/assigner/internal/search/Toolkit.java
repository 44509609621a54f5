package dev.tessera.assigner.internal.search;

import dev.tessera.assigner.internal.graph.Graph;
import dev.tessera.assigner.internal.improve.Descent;
import dev.tessera.assigner.internal.improve.Improver;
import dev.tessera.assigner.internal.improve.IteratedLocalSearch;
import dev.tessera.assigner.internal.improve.Repair;
import dev.tessera.assigner.internal.improve.RuinRecreate;
import dev.tessera.assigner.internal.improve.TabuSearch;
import dev.tessera.assigner.internal.improve.TabuWalk;
import dev.tessera.assigner.internal.improve.WindowSweep;
import java.util.SplittableRandom;

/**
 * The improvers of one run, built once with the plan's budgets and sharing the run's one random generator (so the
 * order in which they draw from it, and so the result, is fixed by the seed). Not thread-safe; owns their scratch.
 */
final class Toolkit {
    final Repair repair;
    final Descent descent;
    final Improver windows;
    final IteratedLocalSearch iterated;
    final Improver tabu;
    final Improver recreate;

    Toolkit(Graph g, SearchPlan plan, SplittableRandom rng) {
        this.repair = new Repair(g.p, plan.repairSteps());
        this.descent = new Descent(g, rng, plan.descentSteps());
        this.windows = plan.windowSize() > 0
                ? new WindowSweep(g, plan.windowSize(), plan.windowSweeps())
                : Improver.NONE;
        this.iterated = new IteratedLocalSearch(g, rng, repair, descent, windows);
        this.tabu = plan.tabuIterations() > 0
                ? new TabuWalk(new TabuSearch(g, rng), descent, plan.tabuIterations())
                : Improver.NONE;
        this.recreate = plan.recreateWidth() > 0
                ? new RuinRecreate(g, descent, plan.recreateWidth(), plan.recreateSweeps())
                : Improver.NONE;
    }
}
