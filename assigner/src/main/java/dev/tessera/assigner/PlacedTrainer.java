package dev.tessera.assigner;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterServer;
import ai.djl.training.Trainer;
import ai.djl.training.TrainingConfig;
import ai.djl.training.evaluator.Evaluator;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.util.PairList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.function.Predicate;

/**
 * A DJL {@link Trainer} for a {@link PlacedBlock}: forward passes and optimizer steps go through a {@link
 * PlacedParameterStore}, so each parameter is read and updated where its part lives. Everything else (loss,
 * evaluators, listeners, metrics, {@code EasyTrain}) is DJL's. Batches are split onto the first part's device only,
 * and the block returns its output there, next to the labels. Not thread-safe, as DJL's trainer; it owns its
 * sub-manager (closed by {@link #close()}) and the parameter server.
 */
final class PlacedTrainer extends Trainer {
    private final PlacedParameterStore store;
    private final ParameterServer server;

    PlacedTrainer(Model model, TrainingConfig config, Device first) {
        super(model, new OnDevice(config, first));
        server = getManager().getEngine().newParameterServer(config.getOptimizer());
        store = new PlacedParameterStore(getManager(), server);
    }

    @Override
    public void initialize(Shape... shapes) {
        // The parts are initialised and placed already; DJL's trainer would mirror every parameter here.
        getModel().getBlock().initialize(getModel().getNDManager(), getModel().getDataType(), shapes);
    }

    @Override
    public NDList forward(NDList input) {
        long begin = System.nanoTime();
        try {
            return getModel().getBlock().forward(store, input, true);
        } finally {
            addMetric("forward", begin);
        }
    }

    @Override
    public NDList forward(NDList data, NDList labels) {
        long begin = System.nanoTime();
        try {
            return getModel().getBlock().forward(store, data, labels, null);
        } finally {
            addMetric("forward", begin);
        }
    }

    @Override
    public NDList evaluate(NDList input) {
        return getModel().getBlock().forward(store, input, false, null);
    }

    @Override
    public void step() {
        long begin = System.nanoTime();
        store.updateAllParameters();
        addMetric("step", begin);
    }

    @Override
    public void close() {
        try {
            super.close();
        } finally {
            server.close();
        }
    }

    /** The user's configuration, with batches sent to one device: the first part's. */
    private record OnDevice(TrainingConfig config, Device device) implements TrainingConfig {
        @Override
        public Device[] getDevices() {
            return new Device[] {device};
        }

        @Override
        public PairList<Initializer, Predicate<Parameter>> getInitializers() {
            return config.getInitializers();
        }

        @Override
        public Optimizer getOptimizer() {
            return config.getOptimizer();
        }

        @Override
        public Loss getLossFunction() {
            return config.getLossFunction();
        }

        @Override
        public ExecutorService getExecutorService() {
            return config.getExecutorService();
        }

        @Override
        public List<Evaluator> getEvaluators() {
            return config.getEvaluators();
        }

        @Override
        public List<TrainingListener> getTrainingListeners() {
            return config.getTrainingListeners();
        }
    }
}
