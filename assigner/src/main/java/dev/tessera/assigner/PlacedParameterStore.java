package dev.tessera.assigner;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterServer;
import ai.djl.training.ParameterStore;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link ParameterStore} for a model split over devices: every parameter has one array, on the device of the part
 * that owns it, and blocks get that array itself. DJL's own store keeps a mirror of every parameter on every
 * training device (data parallelism), which would copy the whole model onto each device and update the mirrors
 * instead of the placed arrays.
 *
 * <p>{@link #updateAllParameters()} passes each parameter a forward pass used to the parameter server (the
 * optimizer), as DJL's store does for a single device. Thread-safe for concurrent forward passes; the caller owns the
 * parameters' arrays and the server.
 */
final class PlacedParameterStore extends ParameterStore {
    private final ParameterServer server;
    private final Map<String, Parameter> used = new ConcurrentHashMap<>();

    /**
     * @param manager the manager {@link #getManager()} returns (blocks may create temporary arrays on it)
     * @param server the optimizer's server, or null for a store that only runs inference
     */
    PlacedParameterStore(NDManager manager, ParameterServer server) {
        super(manager, false);
        this.server = server;
    }

    @Override
    public NDArray getValue(Parameter parameter, Device device, boolean training) {
        if (parameter == null) {
            return null; // optional parameters (a Linear without bias), as in DJL's store
        }
        NDArray array = parameter.getArray();
        if (!array.getDevice().equals(device)) {
            throw new IllegalStateException("parameter '" + parameter.getName() + "' is on " + array.getDevice()
                    + " but its block runs on " + device + ": a parameter shared by parts on different devices, or a"
                    + " block that moved its input; place the parts that share it on one device");
        }
        used.putIfAbsent(parameter.getId(), parameter);
        return array;
    }

    @Override
    public void updateAllParameters() {
        if (server == null) {
            throw new IllegalStateException("this parameter store only runs inference; train through PlacedBlock.newTrainer");
        }
        for (Map.Entry<String, Parameter> e : used.entrySet()) {
            if (e.getValue().requiresGradient()) {
                server.update(e.getKey(), new NDArray[] {e.getValue().getArray()});
            }
        }
    }

    @Override
    public void sync() {
        // one array per parameter: nothing to copy back
    }
}
