package dev.tessera.assigner.internal.search;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.assigner.internal.Problem;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The plan's budgets against the schedule documented in {@link SearchPlan} and the module README. */
class SearchPlanTest {

    @Test
    void smallLayerGraphGetsEveryPhaseWithTheDocumentedBudgets() {
        SearchPlan plan = SearchPlan.of(chain(100, 4), 1.0, 500);
        assertEquals(500, plan.relaxIterations());
        assertEquals(1_000, plan.beamWidth(), "a million expansions per order, at most 1,000 wide");
        assertEquals(7_500, plan.tabuIterations(), "three million move evaluations of n·m = 400");
        assertEquals(7, plan.windowSize(), "4^7 = 16,384 leaves, the most under 20,000");
        assertEquals(769, plan.recreateWidth(), "6e6 expansions / (39 stretches × n/2 × m)");
        // 100,000 / (n + E) = 100,000 / 199 = 502.5 kicks per start, a quarter in the start's own search
        assertEquals(125, plan.startKicks());
        assertEquals((503 - 125) * 10 / 2 / 4, plan.roundKicks(10, 2));
        assertEquals(Integer.MAX_VALUE, plan.searchedStarts());
        assertEquals(50L * 100 + 1000, plan.descentSteps());
        assertEquals(4 * 100 * 4 + 16, plan.repairSteps());
    }

    @Test
    void largeGraphsDropTheCostlyPhasesAndSearchOnlyTheBestStarts() {
        SearchPlan plan = SearchPlan.of(chain(10_000, 64), 2.0, 100);
        assertEquals(0, plan.beamWidth());
        assertEquals(0, plan.tabuIterations());
        assertEquals(0, plan.windowSize());
        assertEquals(0, plan.recreateWidth());
        assertEquals(3, plan.searchedStarts());
        assertEquals(15, plan.startKicks(), "a quarter of 30 kicks per start (the clamp) times effort 2");
        assertEquals((60 * 3 - 15 * 3) / 2 / 4, plan.roundKicks(3, 2));
    }

    @Test
    void windowsStopAboveFiveHundredModelsAndTabuAboveThreeThousandMoves() {
        assertEquals(0, SearchPlan.of(chain(501, 2), 1, 1).windowSize());
        assertEquals(10, SearchPlan.of(chain(500, 2), 1, 1).windowSize());
        assertEquals(0, SearchPlan.of(chain(751, 4), 1, 1).tabuIterations());
        assertEquals(1_000, SearchPlan.of(chain(750, 4), 1, 1).tabuIterations());
        assertEquals(0, SearchPlan.of(chain(5, 4), 1, 1).recreateWidth(), "no recreation under 6 models");
    }

    @Test
    void startsAndFinalistsGoThroughThePhasesInTheirOrder() {
        SearchPlan plan = SearchPlan.of(chain(10, 2), 1, 1);
        assertEquals(List.of(Phase.DESCENT, Phase.WINDOWS, Phase.KICKS, Phase.TABU), plan.startPhases());
        assertEquals(List.of(Phase.KICKS, Phase.TABU), plan.roundPhases());
        assertEquals(List.of(Phase.RECREATE), plan.finishPhases());
        assertEquals(4, plan.rounds());
        assertEquals(2, plan.finalists());
    }

    @Test
    void multilevelStartsAboveFiveHundredModelsAndCoarsensToEightModelsPerDevice() {
        assertEquals(0, SearchPlan.of(chain(500, 4), 1, 1).coarsestModels(), "500 models keep the flat search");
        assertEquals(200, SearchPlan.of(chain(501, 4), 1, 1).coarsestModels(), "at least 200");
        assertEquals(512, SearchPlan.of(chain(10_000, 64), 1, 1).coarsestModels());
        SearchPlan coarsest = SearchPlan.coarsest(chain(400, 16), 1, 500);
        assertEquals(0, coarsest.beamWidth());
        assertEquals(0, coarsest.tabuIterations());
        assertEquals(0, coarsest.windowSize());
        assertEquals(0, coarsest.recreateWidth());
        assertEquals(500, coarsest.relaxIterations());
        assertEquals(120, SearchPlan.of(chain(10_000, 64), 1, 500).coarsestRelaxIterations(), "0.24 of the option");
        assertEquals(1, SearchPlan.of(chain(10_000, 64), 1, 1).coarsestRelaxIterations(), "at least one step");
        // 100,000 / (n + E) = 125.2 kicks per start at full effort, a quarter of that here (31), a quarter of it
        // in the start's own search
        assertEquals(7, coarsest.startKicks());
    }

    /** n unit models in a chain on m identical devices with room for all. */
    private static Problem chain(int n, int m) {
        double[] demand = new double[n];
        java.util.Arrays.fill(demand, 1);
        int[] from = new int[n - 1];
        int[] to = new int[n - 1];
        double[] vol = new double[n - 1];
        for (int i = 0; i + 1 < n; i++) {
            from[i] = i;
            to[i] = i + 1;
            vol[i] = 1;
        }
        double[] capacity = new double[m];
        double[] power = new double[m];
        double[][] dist = new double[m][m];
        for (int d = 0; d < m; d++) {
            capacity[d] = n;
            power[d] = 1;
            for (int c = 0; c < m; c++) {
                dist[d][c] = d == c ? 0 : 1;
            }
        }
        return new Problem(demand, demand, capacity, power, dist, from, to, vol, 1, 1, null);
    }
}
